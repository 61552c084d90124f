//! User records, and keeping each user's roles and active flag in step on the hash
//! items of their tokens, which is all the authorizer reads. A user write itself (the
//! record, then the fan-out to every token, then marking it complete) is a use case of
//! [`crate::directory`], built on these and on [`super::principals`].

use aws_sdk_dynamodb::types::ReturnValue;

use super::client::classify;
use super::items;
use super::{StoreError, StoredUser, TokenStore};
use crate::token::TokenHash;
use crate::user::UserId;

impl TokenStore {
    /// Reads a user record, strongly consistent: a deactivation a moment ago counts.
    pub async fn get_user(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::user_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::user_from_item).transpose()
    }

    /// Brings the hash item of `hash` in step with `owner`; an item already at that
    /// version (or a later one), or gone, is left alone.
    pub async fn write_access(
        &self,
        owner: &StoredUser,
        hash: &TokenHash,
    ) -> Result<(), StoreError> {
        let (update, condition, values) = items::access_update(owner);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::hash_key(hash)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#roles", "roles")
            .set_expression_attribute_values(Some(values))
            // create-token's policy allows this write with ReturnValues NONE only.
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(classify(err)),
        }
    }

    /// After writing the hash item of `hash` from `seen`: if the user's access changed
    /// meanwhile (a user write that did not see the new token), bring it in step now.
    pub(crate) async fn catch_up_access(
        &self,
        seen: &StoredUser,
        hash: &TokenHash,
    ) -> Result<(), StoreError> {
        match self.get_user(&seen.user.id).await? {
            Some(now) if now.access_version != seen.access_version => {
                self.write_access(&now, hash).await
            }
            _ => Ok(()),
        }
    }
}
