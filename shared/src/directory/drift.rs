//! Permission drift: what a token relied on that its owner's roles no longer grant.
//!
//! For each token, at each role change: `relied` is the token's own list when it has
//! one, else what its owner's roles granted before the change (or after it, for a
//! token created since); the permissions of `relied` the new roles do not grant are
//! lost at the change's time, unless already recorded; a permission the new roles
//! grant again is no longer lost. A change of the permission configuration itself is
//! not drift.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::store::TokenAccess;

pub fn permissions_lost(
    token: &TokenAccess,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
    changed_at: DateTime<Utc>,
) -> BTreeMap<String, DateTime<Utc>> {
    let created_since = token.created_at.is_some_and(|at| at >= changed_at);
    let relied: &BTreeSet<String> = match (&token.permissions, created_since) {
        (Some(scope), _) => scope,
        (None, true) => after,
        (None, false) => before,
    };
    let mut lost: BTreeMap<String, DateTime<Utc>> = token
        .permissions_lost
        .iter()
        .filter(|(permission, _)| !after.contains(*permission))
        .map(|(p, at)| (p.clone(), *at))
        .collect();
    for permission in relied.difference(after) {
        lost.entry(permission.clone()).or_insert(changed_at);
    }
    lost
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenId;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn token(scope: Option<&[&str]>, lost: &[(&str, DateTime<Utc>)]) -> TokenAccess {
        TokenAccess {
            id: TokenId::generate(1).unwrap(),
            hashes: vec![],
            permissions: scope.map(set),
            permissions_lost: lost.iter().map(|(p, at)| ((*p).to_owned(), *at)).collect(),
            created_at: Some(DateTime::UNIX_EPOCH),
        }
    }

    #[test]
    fn a_downgrade_marks_what_each_token_relied_on_and_a_regrant_clears_it() {
        let t0 = DateTime::UNIX_EPOCH + chrono::Duration::days(1);
        let t1 = t0 + chrono::Duration::days(1);
        let manager = set(&["catalog:read", "entity:edit", "scorecard:edit"]);
        let viewer = set(&["catalog:read"]);
        let unscoped = token(None, &[]);
        let lost = permissions_lost(&unscoped, &manager, &viewer, t0);
        assert_eq!(
            lost.keys().collect::<Vec<_>>(),
            ["entity:edit", "scorecard:edit"]
        );
        assert!(lost.values().all(|at| *at == t0));

        let scoped = token(Some(&["catalog:read", "entity:edit"]), &[]);
        let lost = permissions_lost(&scoped, &manager, &viewer, t0);
        assert_eq!(lost.keys().collect::<Vec<_>>(), ["entity:edit"]);

        // Recorded times stay; what the roles grant again is no longer lost.
        let drifted = token(None, &[("entity:edit", t0), ("scorecard:edit", t0)]);
        let user = set(&["catalog:read", "entity:edit"]);
        let lost = permissions_lost(&drifted, &viewer, &user, t1);
        assert_eq!(lost, BTreeMap::from([("scorecard:edit".to_owned(), t0)]));

        // A token created after the change relied on the new roles only.
        let mut fresh = token(None, &[]);
        fresh.created_at = Some(t1);
        assert!(permissions_lost(&fresh, &manager, &viewer, t0).is_empty());
    }
}
