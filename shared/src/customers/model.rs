//! The customers pages' values: the search prefix, the disable request, the views built from an
//! account item, and an audit entry with its actor. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};

use crate::{
    audit::Entry,
    auth::account::AccountView,
    error::{ApiError, ApiResult},
    orders::model::OrderView,
    platform::db::{Item, Page},
    types::{Timestamp, UserId, parse_ulid},
    users::model::{Address, Email, Name, UserView},
};

/// Longest prefix searched for (an email's longest).
const MAX_PREFIX: usize = Email::MAX_LEN;

/// `q` as a prefix of the stored emails: trimmed and lower-cased as emails are kept (empty: every
/// account).
pub fn search_prefix(q: Option<&str>) -> ApiResult<String> {
    use unicode_normalization::UnicodeNormalization;
    let prefix: String = q
        .unwrap_or_default()
        .nfkc()
        .collect::<String>()
        .trim()
        .to_lowercase();
    if prefix.chars().count() > MAX_PREFIX || prefix.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "q",
            format!("must be the start of an email, at most {MAX_PREFIX} characters"),
        ));
    }
    Ok(prefix)
}

/// A customer id from the path; anything that is not a ULID names no account.
pub fn customer_id_in_path(raw: &str) -> ApiResult<UserId> {
    parse_ulid(raw)
        .map(|u| UserId::from_trusted(u.to_string()))
        .ok_or(ApiError::NotFound("customer"))
}

/// `PUT /admin/customers/{id}`: `{disabled}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomerRequest {
    pub disabled: bool,
}

/// A line of the customer list.
#[derive(Debug, PartialEq, Serialize)]
pub struct CustomerSummary {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: crate::types::Role,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub disabled: bool,
    pub created_at: Timestamp,
}

impl CustomerSummary {
    pub fn from_item(item: &Item) -> ApiResult<(CustomerSummary, UserView)> {
        let view: UserView = crate::db::decode(item.clone())?;
        let summary = CustomerSummary {
            id: view.id.clone(),
            email: view.email.clone(),
            name: view.name.clone(),
            role: view.role,
            email_verified: view.email_verified,
            mfa_enabled: view.mfa_enabled,
            disabled: AccountView(item).disabled(),
            created_at: view.created_at,
        };
        Ok((summary, view))
    }
}

/// `GET /admin/customers/{id}`: the account, how many sessions it has open, and its latest orders.
#[derive(Debug, Serialize)]
pub struct CustomerDetail {
    #[serde(flatten)]
    pub summary: CustomerSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub sessions: usize,
    pub orders: Page<OrderView>,
}

/// The list page as the API answers it.
pub fn summaries(page: Page<Item>) -> ApiResult<Page<CustomerSummary>> {
    let items = page
        .items
        .iter()
        .map(|i| CustomerSummary::from_item(i).map(|(s, _)| s))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// An audit entry as the admin's list shows it: the entry and who its actor is.
#[derive(Debug, Serialize)]
pub struct AuditView {
    #[serde(flatten)]
    pub entry: Entry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_email: Option<Email>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_is_a_lower_case_prefix_and_ids_are_ulids() {
        assert_eq!(
            search_prefix(Some("  Ada@Example ")).unwrap(),
            "ada@example"
        );
        assert_eq!(search_prefix(None).unwrap(), "");
        assert!(search_prefix(Some("a\u{7}b")).is_err());
        assert!(search_prefix(Some(&"a".repeat(255))).is_err());
        assert!(customer_id_in_path("01JD0000000000000000000000").is_ok());
        assert!(matches!(
            customer_id_in_path("me"),
            Err(ApiError::NotFound(_))
        ));
    }
}
