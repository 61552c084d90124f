//! The organisation-wide inventory: pages of every live token by key (two GSIs over
//! four partitions, never a Scan), and its counters (kept by the `events` function
//! from the stream, rebuilt from the GSIs by `recount_inventory`).
//!
//! A page merges the partitions (and key ranges) its filters allow, each Query asking
//! for at most a page (plus one), then reads the page's token items in one
//! BatchGetItem: what a page reads does not grow with the table.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Duration, Utc};

use super::client::{classify, classify_transaction, internal};
use super::items::{self, counter_buckets, Counter, IndexEntry, Item};
use super::settle::request_token;
use super::{StoreError, TokenRecord, TokenStore};
use crate::user::{PrincipalKind, UserId};

/// Which tokens an inventory page holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventoryFilter {
    pub owner: Option<UserId>,
    pub owner_kind: Option<PrincipalKind>,
    pub scoped: Option<bool>,
    pub expiring_within_days: Option<u32>,
    pub unused_for_days: Option<u32>,
    pub never_used: bool,
}

/// One page of the inventory and where the next starts (an index sort key, or a
/// token id with the `owner` filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryPage {
    pub tokens: Vec<InventoryRow>,
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRow {
    pub token: TokenRecord,
}

/// Every counter, as one Query of `STATS#inventory` read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InventorySummary {
    pub counters: Vec<Counter>,
}

/// One range of one index partition to read: `lo..=hi` of its sort key.
struct Range {
    partition: String,
    lo: String,
    hi: String,
}

/// Where a page's cursor may be: a key of either index (never anything else).
pub fn valid_cursor(raw: &str) -> bool {
    !raw.is_empty()
        && raw.len() <= 80
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '#' | ':' | '-'))
}

impl TokenStore {
    /// One page of the inventory at `now`, `limit` tokens at most, after `after`.
    pub async fn inventory_page(
        &self,
        filter: &InventoryFilter,
        limit: u32,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<InventoryPage, StoreError> {
        if let Some(owner) = &filter.owner {
            return self.owner_inventory(owner, filter, limit, after, now).await;
        }
        let kinds: Vec<PrincipalKind> = match filter.owner_kind {
            Some(kind) => vec![kind],
            None => vec![PrincipalKind::User, PrincipalKind::Service],
        };
        let scopes: Vec<bool> = match filter.scoped {
            Some(scoped) => vec![scoped],
            None => vec![false, true],
        };
        let today = now.date_naive();
        let idle = filter.never_used || filter.unused_for_days.is_some();
        let (index, sort_attribute, bounds) = if idle {
            let cutoff = filter
                .unused_for_days
                .map(|days| today - Duration::days(i64::from(days)));
            let upper = |used: bool| match cutoff {
                Some(day) => items::idle_bound(used, day),
                None => format!("{}#~", if used { "U" } else { "N" }),
            };
            let mut bounds = vec![("N#".to_owned(), upper(false))];
            if !filter.never_used {
                bounds.push(("U#".to_owned(), upper(true)));
            }
            (items::INVENTORY_BY_IDLE, items::INVENTORY_IDLE, bounds)
        } else {
            let hi = match filter.expiring_within_days {
                Some(days) => format!(
                    "{}~",
                    items::timestamp(now + Duration::days(i64::from(days)))
                ),
                None => "~".to_owned(),
            };
            (
                items::INVENTORY_BY_EXPIRY,
                items::INVENTORY_EXPIRY,
                vec![(items::timestamp(now), hi)],
            )
        };
        let mut ranges = Vec::new();
        for kind in &kinds {
            for scoped in &scopes {
                for (lo, hi) in &bounds {
                    let lo = match after {
                        Some(after) if after > lo.as_str() => after.to_owned(),
                        _ => lo.clone(),
                    };
                    if lo <= *hi {
                        ranges.push(Range {
                            partition: items::inventory_pk(*kind, *scoped),
                            lo,
                            hi: hi.clone(),
                        });
                    }
                }
            }
        }
        let mut entries: Vec<IndexEntry> = Vec::new();
        // The page may not pass the last key any truncated range returned.
        let mut bound: Option<String> = None;
        for range in &ranges {
            let (found, truncated) = self
                .index_range(index, sort_attribute, range, limit + 1)
                .await?;
            if truncated {
                if let Some(last) = found.last() {
                    let last = last.sort_key.clone();
                    bound = Some(bound.map_or(last.clone(), |b: String| b.min(last)));
                }
            }
            entries.extend(found);
        }
        entries.retain(|e| Some(e.sort_key.as_str()) != after);
        entries.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        entries.dedup_by(|a, b| a.sort_key == b.sort_key);
        if let Some(bound) = &bound {
            entries.retain(|e| &e.sort_key <= bound);
        }
        let more = bound.is_some() || entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = if more {
            entries.last().map(|e| e.sort_key.clone()).or(bound)
        } else {
            None
        };
        let live: Vec<&IndexEntry> = entries
            .iter()
            .filter(|e| e.expires_at.is_none_or(|at| now < at))
            .collect();
        let keys = live
            .iter()
            .map(|e| items::token_key(&e.owner, &e.token_id))
            .collect();
        let mut by_id: BTreeMap<String, TokenRecord> = self
            .batch_get(keys, false)
            .await?
            .into_iter()
            .map(items::token_from_item)
            .map(|r| r.map(|t| (t.id.as_str().to_owned(), t)))
            .collect::<Result<_, _>>()?;
        let tokens = live
            .iter()
            .filter_map(|e| by_id.remove(e.token_id.as_str()))
            .map(|token| InventoryRow { token })
            .collect();
        Ok(InventoryPage { tokens, next })
    }

    /// Up to `limit` entries of one range, and whether the range holds more.
    async fn index_range(
        &self,
        index: &str,
        sort_attribute: &str,
        range: &Range,
        limit: u32,
    ) -> Result<(Vec<IndexEntry>, bool), StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("inv_pk = :pk AND #sort BETWEEN :lo AND :hi")
            .expression_attribute_names("#sort", sort_attribute)
            .expression_attribute_values(":pk", items::string(&range.partition))
            .expression_attribute_values(":lo", items::string(&range.lo))
            .expression_attribute_values(":hi", items::string(&range.hi))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(classify)?;
        let truncated = output
            .last_evaluated_key
            .as_ref()
            .is_some_and(|k| !k.is_empty());
        let entries = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| items::index_entry(item, sort_attribute))
            .collect();
        Ok((entries, truncated))
    }

    /// The `owner` filter: that principal's own token items (at most its cap), the
    /// other filters applied to them.
    async fn owner_inventory(
        &self,
        owner: &UserId,
        filter: &InventoryFilter,
        limit: u32,
        after: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<InventoryPage, StoreError> {
        let after = after.and_then(crate::token::TokenId::parse);
        let page = self.list_tokens(owner, limit, after.as_ref()).await?;
        let today = now.date_naive();
        let tokens = page
            .items
            .into_iter()
            .filter(|t| t.is_live(now))
            .filter(|t| filter.owner_kind.is_none_or(|k| k == t.owner_kind))
            .filter(|t| filter.scoped.is_none_or(|s| s == t.permissions.is_some()))
            .filter(|t| {
                filter
                    .expiring_within_days
                    .is_none_or(|days| t.expiry.expires_at <= now + Duration::days(i64::from(days)))
            })
            .filter(|t| !filter.never_used || t.last_use.is_none())
            .filter(|t| {
                filter.unused_for_days.is_none_or(|days| {
                    let cutoff = today - Duration::days(i64::from(days));
                    let day = t.last_use.as_ref().map_or(t.created_at, |u| u.at);
                    day.date_naive() < cutoff
                })
            })
            .map(|token| InventoryRow { token })
            .collect();
        Ok(InventoryPage {
            tokens,
            next: page.next.map(|id| id.as_str().to_owned()),
        })
    }

    /// Every inventory counter: one Query of `STATS#inventory` (its size follows the
    /// number of distinct days, never the number of tokens).
    pub async fn inventory_summary(&self) -> Result<InventorySummary, StoreError> {
        let mut counters = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", items::string(items::STATS_PK))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            counters.extend(
                output
                    .items
                    .unwrap_or_default()
                    .iter()
                    .filter_map(items::counter_from_item),
            );
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(InventorySummary { counters }),
            }
        }
    }

    /// Moves the counters for one stream record of a token item (`old` and `new`
    /// images, either absent), in one transaction whose idempotency key is the
    /// record's id: a batch retried within DynamoDB's 10 minutes does not count twice.
    /// Returns how many counters it changed.
    pub async fn count_inventory_change(
        &self,
        record_id: &str,
        old: Option<&Item>,
        new: Option<&Item>,
    ) -> Result<usize, StoreError> {
        let before = old.and_then(counter_buckets);
        let after = new.and_then(counter_buckets);
        let mut deltas: BTreeMap<String, i64> = BTreeMap::new();
        for (buckets, sign) in [(before, -1), (after, 1)] {
            if let Some(buckets) = buckets {
                for bucket in [buckets.expiry, buckets.idle] {
                    *deltas.entry(bucket).or_default() += sign;
                }
            }
        }
        deltas.retain(|_, delta| *delta != 0);
        if deltas.is_empty() {
            return Ok(0);
        }
        let writes = deltas
            .iter()
            .map(|(bucket, delta)| {
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(items::counter_key(bucket)))
                    .update_expression("ADD #count :delta")
                    .expression_attribute_names("#count", items::COUNT_ATTRIBUTE)
                    .expression_attribute_values(":delta", items::number(*delta))
                    .build()
                    .map(|u| TransactWriteItem::builder().update(u).build())
                    .map_err(internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&["inventory", record_id]))
            .send()
            .await
            .map_err(classify_transaction)?;
        Ok(deltas.len())
    }

    /// Rebuilds every counter from the two inventory indexes (repair only: reads grow
    /// with the table). Returns how many live tokens it counted.
    pub async fn recount_inventory(&self) -> Result<usize, StoreError> {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let mut tokens = 0;
        for kind in [PrincipalKind::User, PrincipalKind::Service] {
            for scoped in [false, true] {
                let partition = items::inventory_pk(kind, scoped);
                let word = partition.trim_start_matches("INV#").to_owned();
                for (index, attribute, family) in [
                    (items::INVENTORY_BY_EXPIRY, items::INVENTORY_EXPIRY, "EXP"),
                    (items::INVENTORY_BY_IDLE, items::INVENTORY_IDLE, "IDLE"),
                ] {
                    for key in self.index_keys(index, attribute, &partition).await? {
                        let day = match family {
                            "EXP" => key.get(..10),
                            _ => key.get(..12),
                        };
                        if let Some(day) = day {
                            *counts.entry(format!("{family}#{word}#{day}")).or_default() += 1;
                            if family == "EXP" {
                                tokens += 1;
                            }
                        }
                    }
                }
            }
        }
        let existing: BTreeSet<String> = self
            .inventory_summary()
            .await?
            .counters
            .iter()
            .map(counter_sort_key)
            .collect();
        for bucket in existing {
            counts.entry(bucket).or_insert(0);
        }
        for (bucket, count) in counts {
            let mut item = items::counter_key(&bucket);
            item.insert(
                items::COUNT_ATTRIBUTE.to_owned(),
                AttributeValue::N(count.to_string()),
            );
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(tokens)
    }

    /// Every sort key of one inventory partition.
    async fn index_keys(
        &self,
        index: &str,
        attribute: &str,
        partition: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("inv_pk = :pk")
                .expression_attribute_values(":pk", items::string(partition))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            keys.extend(
                output
                    .items
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| i.get(attribute).and_then(|v| v.as_s().ok()).cloned()),
            );
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(keys),
            }
        }
    }
}

/// A counter's sort key, written back from what was read.
fn counter_sort_key(counter: &Counter) -> String {
    let scope = if counter.scoped { "scoped" } else { "all" };
    let day = counter.day.format("%Y-%m-%d");
    match counter.idle_used {
        None => format!("EXP#{}#{scope}#{day}", counter.kind.as_str()),
        Some(used) => format!(
            "IDLE#{}#{scope}#{}#{day}",
            counter.kind.as_str(),
            if used { "U" } else { "N" }
        ),
    }
}
