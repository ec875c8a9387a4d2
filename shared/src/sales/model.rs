//! The owner's sales figures: what each event adds to its day (pure), the shop's day of a time,
//! the range an admin asks for, and the summary of the stored days. No HTTP, no AWS.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use time::{Date, Duration as Days, Month, UtcOffset};

use crate::{
    error::ApiError,
    events::model::{Event, EventType, Payload},
    types::{OrderId, ProductId, Timestamp},
};

/// The longest range one request may ask for.
pub const MAX_DAYS: i64 = 366;
/// The range asked for when none is given: the last 30 days, today included.
pub const DEFAULT_DAYS: i64 = 30;
/// How many products `top_products` lists.
pub const TOP_PRODUCTS: usize = 10;

/// A calendar day in the shop's time zone (`YYYY-MM-DD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The shop's day of `at`, in the zone `offset` from UTC.
    pub fn of(at: Timestamp, offset: UtcOffset) -> Day {
        let local = time::OffsetDateTime::from(std::time::SystemTime::from(at)).to_offset(offset);
        Day(local.date())
    }

    /// A `YYYY-MM-DD` query parameter named `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Day, ApiError> {
        let bad = || ApiError::invalid_field(field, "must be a date as YYYY-MM-DD");
        let mut parts = raw.trim().split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if (y.len(), m.len(), d.len()) != (4, 2, 2) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let day: u8 = d.parse().map_err(|_| bad())?;
        let month = Month::try_from(month).map_err(|_| bad())?;
        Date::from_calendar_date(year, month, day)
            .map(Day)
            .map_err(|_| ApiError::invalid_field(field, "is not a day of the calendar"))
    }

    fn plus(self, days: i64) -> Day {
        Day(self.0.saturating_add(Days::days(days)))
    }

    /// Days from `self` to `later` (0 for the same day).
    fn until(self, later: Day) -> i64 {
        (later.0 - self.0).whole_days()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

impl Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The days an admin asks about, first and last included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: Day,
    pub to: Day,
}

impl Range {
    /// `from` and `to` as the query gives them (either may be absent: `to` is then today and
    /// `from` 29 days before `to`). At most [`MAX_DAYS`] days; `from` after `to` is refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Day) -> Result<Range, ApiError> {
        let to = to
            .map(|t| Day::parse("to", t))
            .transpose()?
            .unwrap_or(today);
        let from = match from {
            Some(f) => Day::parse("from", f)?,
            None => to.plus(1 - DEFAULT_DAYS),
        };
        let days = from.until(to) + 1;
        if days < 1 {
            return Err(ApiError::invalid_field("from", "must not be after to"));
        }
        if days > MAX_DAYS {
            return Err(ApiError::invalid_field(
                "to",
                format!("the range may span at most {MAX_DAYS} days"),
            ));
        }
        Ok(Range { from, to })
    }

    pub fn days(self) -> impl Iterator<Item = Day> {
        (0..=self.from.until(self.to)).map(move |i| self.from.plus(i))
    }

    /// Whether `at` falls on one of the range's days in the zone `offset`.
    pub fn contains(self, at: Timestamp, offset: UtcOffset) -> bool {
        (self.from..=self.to).contains(&Day::of(at, offset))
    }

    /// The UTC days the range's days (in the zone `offset`) overlap: where orders are filed.
    pub fn utc_days(self, offset: UtcOffset) -> Range {
        let start = self.from.0.midnight().assume_offset(offset);
        let end = self.to.plus(1).0.midnight().assume_offset(offset) - time::Duration::MILLISECOND;
        Range {
            from: Day(start.to_offset(UtcOffset::UTC).date()),
            to: Day(end.to_offset(UtcOffset::UTC).date()),
        }
    }
}

/// Where an export stopped: the UTC day it was reading and the last order it read there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportCursor {
    pub day: Day,
    pub after: OrderId,
}

impl ExportCursor {
    /// `after` as the next page's link carries it: `YYYY-MM-DD/<order id>`.
    pub fn parse(raw: &str) -> Result<ExportCursor, ApiError> {
        let bad = || ApiError::invalid_field("after", "is not a cursor of this export");
        let (day, id) = raw.split_once('/').ok_or_else(bad)?;
        Ok(ExportCursor {
            day: Day::parse("after", day).map_err(|_| bad())?,
            after: OrderId::parse(id).ok_or_else(bad)?,
        })
    }
}

impl std::fmt::Display for ExportCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.day, self.after)
    }
}

/// One day's counts. `net_cents` is derived (gross less refunds), never stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub placed: i64,
    pub paid: i64,
    /// Units of the orders paid that day.
    pub units: i64,
    /// The totals of the orders paid that day (shipping and tax included).
    pub gross_cents: i64,
    /// The totals of the orders refunded that day.
    pub refunded_cents: i64,
    pub net_cents: i64,
    /// Accounts opened that day.
    pub new_customers: i64,
}

impl Figures {
    /// The stored counters, by attribute name; `net_cents` is not one of them.
    pub const COUNTERS: [&'static str; 6] = [
        "placed",
        "paid",
        "units",
        "gross_cents",
        "refunded_cents",
        "new_customers",
    ];

    pub fn counters(&self) -> [(&'static str, i64); 6] {
        [
            ("placed", self.placed),
            ("paid", self.paid),
            ("units", self.units),
            ("gross_cents", self.gross_cents),
            ("refunded_cents", self.refunded_cents),
            ("new_customers", self.new_customers),
        ]
    }

    /// Figures from stored counters (absent ones are 0).
    pub fn from_counters(get: impl Fn(&str) -> i64) -> Figures {
        let mut f = Figures {
            placed: get("placed"),
            paid: get("paid"),
            units: get("units"),
            gross_cents: get("gross_cents"),
            refunded_cents: get("refunded_cents"),
            new_customers: get("new_customers"),
            net_cents: 0,
        };
        f.net_cents = f.gross_cents - f.refunded_cents;
        f
    }

    fn add(&mut self, o: &Figures) {
        self.placed += o.placed;
        self.paid += o.paid;
        self.units += o.units;
        self.gross_cents += o.gross_cents;
        self.refunded_cents += o.refunded_cents;
        self.net_cents += o.net_cents;
        self.new_customers += o.new_customers;
    }
}

/// One product's share of a day: units of paid orders and what their lines came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductSale {
    pub product_id: ProductId,
    pub name: String,
    pub units: i64,
    pub revenue_cents: i64,
}

/// What one event adds to the figures of its day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    pub day: Day,
    pub figures: Figures,
    pub products: Vec<ProductSale>,
}

/// What `event` adds to the figures, if anything: a placed order, a paid one (with its units and
/// lines), a refund, a new account. Counted on the day the change committed, in the shop's zone.
pub fn delta_of(event: &Event, offset: UtcOffset) -> Option<Delta> {
    let mut figures = Figures::default();
    let mut products = Vec::new();
    match (event.metadata.kind, &event.data) {
        (EventType::OrderPlaced, Payload::Order(_)) => figures.placed = 1,
        (EventType::OrderPaid, Payload::Order(o)) => {
            figures.paid = 1;
            figures.gross_cents = o.total_cents.get();
            for line in &o.items {
                let units = i64::from(line.quantity.get());
                figures.units += units;
                products.push(ProductSale {
                    product_id: line.product_id.clone(),
                    name: line.name.clone(),
                    units,
                    revenue_cents: line.unit_price_cents.times(line.quantity).get(),
                });
            }
        }
        (EventType::OrderRefunded, Payload::Order(o)) => {
            figures.refunded_cents = o.total_cents.get();
        }
        (EventType::UserRegistered, Payload::Account(_)) => figures.new_customers = 1,
        _ => return None,
    }
    figures.net_cents = figures.gross_cents - figures.refunded_cents;
    Some(Delta {
        day: Day::of(event.metadata.occurred_at, offset),
        figures,
        products,
    })
}

/// `GET /admin/stats`: every day of the range (days without sales are zeros), their totals and
/// the best-selling products by revenue.
#[derive(Debug, PartialEq, Serialize)]
pub struct Stats {
    pub from: Day,
    pub to: Day,
    pub days: Vec<DayFigures>,
    pub totals: Figures,
    pub top_products: Vec<TopProduct>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct DayFigures {
    pub date: Day,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct TopProduct {
    pub product_id: ProductId,
    pub name: String,
    pub units: i64,
    pub revenue_cents: i64,
}

/// Sums stored rows (a day may come in several pieces: the counters are sharded) into the range's
/// summary. Rows outside the range are ignored.
pub fn summarise(
    range: Range,
    days: impl IntoIterator<Item = (Day, Figures)>,
    products: impl IntoIterator<Item = (Day, ProductSale)>,
) -> Stats {
    let mut by_day: BTreeMap<Day, Figures> =
        range.days().map(|d| (d, Figures::default())).collect();
    for (day, f) in days {
        if let Some(sum) = by_day.get_mut(&day) {
            sum.add(&f);
        }
    }
    let mut totals = Figures::default();
    for f in by_day.values() {
        totals.add(f);
    }
    let mut by_product: HashMap<ProductId, TopProduct> = HashMap::new();
    for (day, sale) in products {
        if day < range.from || day > range.to {
            continue;
        }
        let top = by_product
            .entry(sale.product_id.clone())
            .or_insert_with(|| TopProduct {
                product_id: sale.product_id,
                name: sale.name.clone(),
                units: 0,
                revenue_cents: 0,
            });
        top.units += sale.units;
        top.revenue_cents += sale.revenue_cents;
        // The newest name a product sold under.
        top.name = sale.name;
    }
    let mut top_products: Vec<TopProduct> = by_product.into_values().collect();
    top_products.sort_by(|a, b| {
        (b.revenue_cents, b.units)
            .cmp(&(a.revenue_cents, a.units))
            .then_with(|| a.product_id.as_str().cmp(b.product_id.as_str()))
    });
    top_products.truncate(TOP_PRODUCTS);
    Stats {
        from: range.from,
        to: range.to,
        days: by_day
            .into_iter()
            .map(|(date, figures)| DayFigures { date, figures })
            .collect(),
        totals,
        top_products,
    }
}

/// The counters' shard of an event: a hot day's writes spread over [`SHARDS`] items, so checkouts
/// never queue on one counter.
pub const SHARDS: u8 = 8;

pub fn shard_of(event_id: &str) -> u8 {
    let h = event_id
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (h % u32::from(SHARDS)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::model::{Metadata, OrderData};
    use crate::settings::parse_offset;
    use crate::types::Cents;

    fn day(s: &str) -> Day {
        Day::parse("d", s).unwrap()
    }

    #[test]
    fn a_day_is_the_shops_day_not_utcs() {
        let late = Timestamp::parse("2026-12-04T23:30:00Z").unwrap();
        assert_eq!(Day::of(late, UtcOffset::UTC).to_string(), "2026-12-04");
        let berlin = parse_offset("+01:00").unwrap();
        assert_eq!(Day::of(late, berlin).to_string(), "2026-12-05");
        let early = Timestamp::parse("2026-12-05T03:00:00Z").unwrap();
        let la = parse_offset("-08:00").unwrap();
        assert_eq!(Day::of(early, la).to_string(), "2026-12-04");
        assert_eq!(parse_offset("UTC"), Some(UtcOffset::UTC));
        for bad in ["+1:00", "01:00", "+15:00", "+01:60", "Europe/Berlin", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(day("2024-02-29").to_string(), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "20261201",
            "2026-12-01x",
            "",
        ] {
            assert!(Day::parse("from", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_range_defaults_to_thirty_days_and_is_bounded() {
        let today = day("2026-12-05");
        let r = Range::parse(None, None, today).unwrap();
        assert_eq!((r.from, r.to), (day("2026-11-06"), today));
        assert_eq!(r.days().count(), 30);
        let r = Range::parse(Some("2025-12-05"), Some("2026-12-05"), today).unwrap();
        assert_eq!(r.days().count(), 366);
        let e = Range::parse(Some("2025-12-04"), Some("2026-12-05"), today).unwrap_err();
        assert!(e.to_string().contains("366"), "{e}");
        let e = Range::parse(Some("2026-12-06"), Some("2026-12-05"), today).unwrap_err();
        assert!(e.to_string().contains("after"), "{e}");
        let one = Range::parse(Some("2026-12-05"), Some("2026-12-05"), today).unwrap();
        assert_eq!(one.days().collect::<Vec<_>>(), vec![today]);
    }

    fn event(kind: EventType, data: Payload, at: &str) -> Event {
        Event {
            metadata: Metadata {
                id: "e".into(),
                kind,
                version: kind.version(),
                occurred_at: Timestamp::parse(at).unwrap(),
            },
            data,
        }
    }

    fn order(total: i64, lines: &[(&str, i64, u32)]) -> Payload {
        let sample: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/send-email.json")).unwrap();
        let mut o: OrderData = serde_json::from_value(sample["detail"]["data"].clone()).unwrap();
        o.total_cents = Cents::amount("t", total).unwrap();
        o.items = lines
            .iter()
            .map(|(id, price, qty)| crate::orders::model::OrderLine {
                product_id: ProductId::from_trusted(*id),
                name: format!("name {id}"),
                unit_price_cents: Cents::price("p", *price).unwrap(),
                quantity: crate::types::Quantity::parse("q", i64::from(*qty)).unwrap(),
            })
            .collect();
        Payload::Order(Box::new(o))
    }

    #[test]
    fn each_event_adds_what_it_reports_to_its_day() {
        let at = "2026-12-04T10:00:00Z";
        let o = order(2_700, &[("A", 500, 2), ("B", 1_000, 1)]);
        let placed = delta_of(
            &event(EventType::OrderPlaced, o.clone(), at),
            UtcOffset::UTC,
        )
        .unwrap();
        assert_eq!(
            placed.figures,
            Figures {
                placed: 1,
                ..Default::default()
            }
        );
        assert!(placed.products.is_empty());
        let paid = delta_of(&event(EventType::OrderPaid, o.clone(), at), UtcOffset::UTC).unwrap();
        assert_eq!(
            paid.figures,
            Figures {
                paid: 1,
                units: 3,
                gross_cents: 2_700,
                net_cents: 2_700,
                ..Default::default()
            }
        );
        assert_eq!(
            paid.products
                .iter()
                .map(|p| (p.product_id.as_str(), p.units, p.revenue_cents))
                .collect::<Vec<_>>(),
            vec![("A", 2, 1_000), ("B", 1, 1_000)]
        );
        let refunded = delta_of(
            &event(EventType::OrderRefunded, o.clone(), at),
            UtcOffset::UTC,
        )
        .unwrap();
        assert_eq!(
            refunded.figures,
            Figures {
                refunded_cents: 2_700,
                net_cents: -2_700,
                ..Default::default()
            }
        );
        assert_eq!(refunded.day, day("2026-12-04"));
        for ignored in [
            EventType::OrderShipped,
            EventType::OrderCancelled,
            EventType::OrderDelivered,
        ] {
            assert_eq!(
                delta_of(&event(ignored, o.clone(), at), UtcOffset::UTC),
                None
            );
        }
    }

    #[test]
    fn the_summary_sums_shards_fills_empty_days_and_ranks_products_by_revenue() {
        let range =
            Range::parse(Some("2026-12-01"), Some("2026-12-03"), day("2026-12-03")).unwrap();
        let f = |paid, gross, refunded| {
            Figures::from_counters(|k| match k {
                "paid" => paid,
                "gross_cents" => gross,
                "refunded_cents" => refunded,
                _ => 0,
            })
        };
        let sale = |id: &str, units, revenue| ProductSale {
            product_id: ProductId::from_trusted(id),
            name: id.to_lowercase(),
            units,
            revenue_cents: revenue,
        };
        let stats = summarise(
            range,
            [
                (day("2026-12-01"), f(1, 1_000, 0)),
                (day("2026-12-01"), f(2, 3_000, 500)),
                (day("2026-12-03"), f(1, 700, 0)),
                (day("2026-12-04"), f(9, 9_000, 0)),
            ],
            [
                (day("2026-12-01"), sale("A", 1, 300)),
                (day("2026-12-03"), sale("B", 5, 500)),
                (day("2026-12-03"), sale("A", 1, 300)),
                (day("2026-11-30"), sale("C", 9, 9_000)),
            ],
        );
        let dates: Vec<String> = stats.days.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2026-12-01", "2026-12-02", "2026-12-03"]);
        assert_eq!(
            (stats.days[0].figures.paid, stats.days[0].figures.net_cents),
            (3, 3_500)
        );
        assert_eq!(stats.days[1].figures, Figures::default());
        assert_eq!(
            (
                stats.totals.paid,
                stats.totals.gross_cents,
                stats.totals.refunded_cents,
                stats.totals.net_cents
            ),
            (4, 4_700, 500, 4_200)
        );
        let top: Vec<_> = stats
            .top_products
            .iter()
            .map(|p| (p.product_id.as_str(), p.units, p.revenue_cents))
            .collect();
        assert_eq!(top, vec![("A", 2, 600), ("B", 5, 500)]);
    }

    #[test]
    fn a_range_in_a_zone_ahead_of_utc_starts_on_the_utc_day_before() {
        let r = Range::parse(Some("2026-12-01"), Some("2026-12-02"), day("2026-12-02")).unwrap();
        let berlin = parse_offset("+01:00").unwrap();
        let utc = r.utc_days(berlin);
        assert_eq!((utc.from, utc.to), (day("2026-11-30"), day("2026-12-02")));
        let la = parse_offset("-08:00").unwrap();
        let utc = r.utc_days(la);
        assert_eq!((utc.from, utc.to), (day("2026-12-01"), day("2026-12-03")));
        assert_eq!(r.utc_days(UtcOffset::UTC), r);
        let late = Timestamp::parse("2026-11-30T23:30:00Z").unwrap();
        assert!(r.contains(late, berlin));
        assert!(!r.contains(late, UtcOffset::UTC));
        let c = ExportCursor::parse("2026-12-01/01JD0000000000000000000000").unwrap();
        assert_eq!(c.to_string(), "2026-12-01/01JD0000000000000000000000");
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01/x",
            "x/01JD0000000000000000000000",
        ] {
            assert!(ExportCursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_spread_event_ids() {
        let used: std::collections::BTreeSet<u8> =
            (0..200).map(|i| shard_of(&format!("{i:032x}"))).collect();
        assert_eq!(used.len(), usize::from(SHARDS));
    }
}
