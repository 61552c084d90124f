//! What a page of the organisation's inventory reads, at two table sizes: the same
//! requests and read units at 1,000 tokens as at many more (the inventory is read by
//! key from its GSIs, never scanned). Measured through the metering proxy; the units
//! are printed with `-- --nocapture`.
//!
//! `PATGATE_INVENTORY_SIZES` sets the sizes (`1000,3000` here;
//! `infra/scripts/inventory-costs.sh` runs `1000,100000`).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Duration, Utc};
use patgate::api::admin::InventoryQuery;
use patgate::expiry::Expiry;
use patgate::store::{items, InventoryFilter, LastUse, TokenRecord, TokenStore};
use patgate::token::{TokenHash, TokenId};
use patgate::user::{PrincipalKind, UserId};
use patgate_tests::proxy::{split_usage, Capacity, DynamoProxy};
use patgate_tests::*;

fn sizes() -> Vec<usize> {
    std::env::var("PATGATE_INVENTORY_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![1000, 3000])
}

/// Token `i` of a varied organisation: people and service accounts, scoped or not,
/// expiring over a year, used over 200 days or never.
fn token(i: usize, services: &[UserId], now: DateTime<Utc>) -> TokenRecord {
    let service = i.is_multiple_of(5);
    let owner = if service {
        services[i % services.len()].clone()
    } else {
        UserId::parse(&format!("user-{}", i % 997)).unwrap()
    };
    let created_at = now - Duration::days(250) + Duration::seconds(i as i64);
    let expires_at = now + Duration::days((i % 365) as i64 + 1);
    TokenRecord {
        id: TokenId::generate(u64::try_from(created_at.timestamp_millis()).unwrap()).unwrap(),
        user_id: owner,
        name: format!("token {i}"),
        description: None,
        hash: TokenHash::of(&format!("secret {i}")),
        hint: "pgt_…abcd".into(),
        created_at,
        expiry: Expiry {
            expires_on: expires_at.date_naive(),
            time_zone: chrono_tz::UTC,
            expires_at,
        },
        permissions: i
            .is_multiple_of(2)
            .then(|| ["catalog:read".to_owned()].into()),
        rotated_at: None,
        previous_hash: None,
        reminders: vec![],
        last_use: (!i.is_multiple_of(3)).then(|| LastUse {
            at: now - Duration::days((i % 200) as i64),
            ip: None,
            user_agent: None,
        }),
        secret_reused_at: None,
        secret_version: 1,
        owner_kind: if service {
            PrincipalKind::Service
        } else {
            PrincipalKind::User
        },
        permissions_lost: Default::default(),
        created_by: None,
    }
}

/// Writes tokens `from..to` as token items (25 per BatchWriteItem, 8 in flight).
async fn seed(table: &TestTable, from: usize, to: usize, services: &[UserId], now: DateTime<Utc>) {
    use futures::stream::{self, StreamExt};
    let chunks: Vec<Vec<usize>> = (from..to)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[usize]>::to_vec)
        .collect();
    stream::iter(chunks)
        .for_each_concurrent(8, |chunk| async move {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| {
                    let item = items::token_to_item(&token(*i, services, now)).unwrap();
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            while !requests.is_empty() {
                let output = table
                    .client
                    .batch_write_item()
                    .request_items(table.name(), requests.clone())
                    .send()
                    .await
                    .expect("batch write");
                requests = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table.name()))
                    .unwrap_or_default();
            }
        })
        .await;
}

fn filters() -> Vec<(&'static str, InventoryFilter)> {
    vec![
        ("every token", InventoryFilter::default()),
        (
            "service accounts' tokens",
            InventoryFilter {
                owner_kind: Some(PrincipalKind::Service),
                ..Default::default()
            },
        ),
        (
            "scoped",
            InventoryFilter {
                scoped: Some(true),
                ..Default::default()
            },
        ),
        (
            "expiring within 30 days",
            InventoryFilter {
                expiring_within_days: Some(30),
                ..Default::default()
            },
        ),
        (
            "unused for 90 days",
            InventoryFilter {
                unused_for_days: Some(90),
                ..Default::default()
            },
        ),
        (
            "never used",
            InventoryFilter {
                never_used: true,
                ..Default::default()
            },
        ),
        (
            "one owner",
            InventoryFilter {
                owner: Some(UserId::parse("user-7").unwrap()),
                ..Default::default()
            },
        ),
    ]
}

/// (requests per operation, read units, tokens) of a page of 50.
type PageCost = (BTreeMap<String, u32>, f64, usize);

/// Most read units any page may cost, whatever the table's size: four to eight
/// Queries of at most 51 small index entries and one BatchGetItem of 50 token items.
const PAGE_READ_UNITS_CEILING: f64 = 45.0;

async fn page_costs(
    store: &TokenStore,
    proxy: &DynamoProxy,
    now: DateTime<Utc>,
) -> Vec<(String, PageCost, PageCost, usize)> {
    let mut out = Vec::new();
    for (name, filter) in filters() {
        let mut costs = Vec::new();
        let mut after: Option<String> = None;
        let mut seen = 0;
        for _ in 0..2 {
            proxy.clear_recorded();
            let query = InventoryQuery {
                filter: filter.clone(),
                limit: 50,
                after: after.clone(),
            };
            let page = store
                .inventory_page(&query.filter, query.limit, query.after.as_deref(), now)
                .await
                .unwrap();
            proxy.settle().await;
            let recorded = proxy.recorded();
            let shape: BTreeMap<String, u32> = split_usage(&recorded)
                .into_iter()
                .map(|(op, u)| (op, u.requests))
                .collect();
            let mut units = Capacity::default();
            recorded.iter().for_each(|r| units += r.capacity);
            assert!(!shape.contains_key("Scan"), "{name}: no Scan");
            seen = page.tokens.len();
            costs.push((shape, units.read_units, seen));
            after = page.next;
        }
        out.push((name.to_owned(), costs[0].clone(), costs[1].clone(), seen));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_page_reads_the_same_at_every_table_size() {
    let sizes = sizes();
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let measured = table.through(&proxy.endpoint);
    let now = Utc::now();
    let services: Vec<UserId> = (0..10)
        .map(|i| UserId::new_service_account(1_795_600_000_000 + i).unwrap())
        .collect();
    let mut seeded = 0;
    let mut by_size = Vec::new();
    for size in &sizes {
        let started = std::time::Instant::now();
        seed(&table, seeded, *size, &services, now).await;
        seeded = *size;
        println!(
            "seeded {size} tokens in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        by_size.push((*size, page_costs(&measured.store, &proxy, now).await));
    }
    println!("| filter | tokens | page 1: requests (read units) | page 2: requests (read units) |");
    println!("|---|---|---|---|");
    for (size, rows) in &by_size {
        for (name, first, second, _) in rows {
            let show = |(shape, units, tokens): &PageCost| {
                let ops: Vec<String> = shape.iter().map(|(op, n)| format!("{op} ×{n}")).collect();
                format!("{} ({units} R, {tokens} tokens)", ops.join(", "))
            };
            println!("| {name} | {size} | {} | {} |", show(first), show(second));
        }
    }
    let (_, smallest) = &by_size[0];
    for (size, rows) in &by_size[1..] {
        for ((name, first, second, _), (_, first0, second0, _)) in rows.iter().zip(smallest) {
            assert_eq!(
                first.0, first0.0,
                "{name} at {size}: the same requests as at {}",
                sizes[0]
            );
            assert_eq!(
                second.0, second0.0,
                "{name} at {size}: the same requests on page 2"
            );
            for cost in [first, second] {
                assert!(
                    cost.1 <= PAGE_READ_UNITS_CEILING,
                    "{name} at {size}: {} R",
                    cost.1
                );
            }
            // Full pages at both sizes read the same (item sizes differ by a few bytes).
            for (cost, small) in [(first, first0), (second, second0)] {
                if cost.2 == small.2 {
                    assert!(
                        cost.1 <= small.1 * 1.1 + 1.0,
                        "{name} at {size}: {} > {}",
                        cost.1,
                        small.1
                    );
                }
            }
        }
    }
}
