//! `TransactWriteItems` with named items. DynamoDB reports a cancelled transaction's reasons by
//! position; reading them by position breaks silently when someone reorders the items, so every
//! item here carries a name and the reasons are read back by that name.

use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::transact_write_items::TransactWriteItemsError,
    types::{Delete, Put, TransactWriteItem, Update},
};

use super::{CONDITIONAL_CHECK_FAILED, Item, TRANSACTION_CONFLICT};
use crate::error::ApiError;

/// Why one item of a cancelled transaction failed (`code: None` = that item was fine), with the
/// item's current state when the request asked for it.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub code: Option<String>,
    pub item: Option<Item>,
}

impl Cancellation {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some(CONDITIONAL_CHECK_FAILED)
    }
}

/// A transaction being built: each item is added under a name (several items may share one, such
/// as one stock update per order line).
#[derive(Debug, Default)]
pub struct Tx {
    items: Vec<(&'static str, TransactWriteItem)>,
}

/// The reasons of a cancelled transaction, by item name.
#[derive(Debug)]
pub struct Reasons(Vec<(&'static str, Cancellation)>);

/// How a transaction failed: cancelled (with its reasons), or anything else (already an `ApiError`).
#[derive(Debug)]
pub enum TxError {
    Cancelled(Reasons),
    Failed(ApiError),
}

impl From<TxError> for ApiError {
    /// A cancellation nobody interpreted is unexpected: the caller reads the reasons it expects.
    fn from(e: TxError) -> Self {
        match e {
            TxError::Failed(e) => e,
            TxError::Cancelled(r) => {
                ApiError::internal(format!("transaction cancelled unexpectedly: {r:?}"))
            }
        }
    }
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(self, name: &'static str, put: Put) -> Self {
        self.item(name, TransactWriteItem::builder().put(put).build())
    }

    pub fn update(self, name: &'static str, update: Update) -> Self {
        self.item(name, TransactWriteItem::builder().update(update).build())
    }

    pub fn delete(self, name: &'static str, delete: Delete) -> Self {
        self.item(name, TransactWriteItem::builder().delete(delete).build())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn item(mut self, name: &'static str, item: TransactWriteItem) -> Self {
        self.items.push((name, item));
        self
    }

    pub async fn send(self, client: &Client) -> Result<(), TxError> {
        let (names, items): (Vec<_>, Vec<_>) = self.items.into_iter().unzip();
        match client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(match reasons_of(&e) {
                Some(reasons) => {
                    TxError::Cancelled(Reasons(names.into_iter().zip(reasons).collect()))
                }
                None => TxError::Failed(e.into()),
            }),
        }
    }
}

fn reasons_of(err: &SdkError<TransactWriteItemsError>) -> Option<Vec<Cancellation>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| Cancellation {
                    code: r.code().filter(|c| *c != "None").map(str::to_string),
                    item: r.item().cloned(),
                })
                .collect(),
        ),
        _ => None,
    }
}

impl Reasons {
    /// The reasons of every item added under `name`, in the order they were added.
    pub fn named(&self, name: &str) -> impl Iterator<Item = &Cancellation> {
        self.0
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, r)| r)
    }

    /// Whether the condition of an item called `name` failed.
    pub fn failed(&self, name: &str) -> bool {
        self.named(name).any(Cancellation::condition_failed)
    }

    /// Another transaction held one of the items: the whole transaction may simply be retried.
    pub fn conflict(&self) -> bool {
        self.0
            .iter()
            .any(|(_, r)| r.code.as_deref() == Some(TRANSACTION_CONFLICT))
    }

    #[cfg(test)]
    pub(crate) fn from_codes(codes: &[(&'static str, Option<&str>)]) -> Self {
        Reasons(
            codes
                .iter()
                .map(|(n, c)| {
                    (
                        *n,
                        Cancellation {
                            code: c.map(str::to_string),
                            item: None,
                        },
                    )
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_read_by_name_whatever_the_order() {
        let r = Reasons::from_codes(&[
            ("line", None),
            ("guard", Some(CONDITIONAL_CHECK_FAILED)),
            ("line", Some(CONDITIONAL_CHECK_FAILED)),
            ("user", None),
        ]);
        assert!(r.failed("guard"));
        assert!(!r.failed("user"));
        assert!(!r.failed("absent"));
        let lines: Vec<bool> = r
            .named("line")
            .map(Cancellation::condition_failed)
            .collect();
        assert_eq!(lines, [false, true]);
        assert!(!r.conflict());
        assert!(Reasons::from_codes(&[("a", Some(TRANSACTION_CONFLICT))]).conflict());
    }
}
