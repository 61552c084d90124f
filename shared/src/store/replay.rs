//! The GitHub replay marker's writes: one conditional put per signed alert, and its
//! removal when the alert could not be handled (so GitHub's retry is not a "replay").

use chrono::{DateTime, Utc};

use super::client::classify;
use super::items::replay::{replay_item, replay_key};
use super::reminder_queue::conditional;
use super::{StoreError, TokenStore};

impl TokenStore {
    /// Records a signed message (by its digest) as seen. `Ok(false)`: it was seen
    /// before, a replay.
    pub async fn claim_replay_marker(
        &self,
        digest_hex: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(replay_item(digest_hex, now)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result)
    }

    /// Forgets a marker whose message was not handled to the end.
    pub async fn release_replay_marker(&self, digest_hex: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(replay_key(digest_hex)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
