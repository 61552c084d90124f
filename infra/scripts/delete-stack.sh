#!/usr/bin/env bash
# Deletes a patgate stack, hosted page included: `sam delete` cannot delete a bucket
# that still holds objects (S3 refuses DeleteBucket, the stack ends DELETE_FAILED), so
# this empties the page's bucket (WebBucketName output, EnableWebHosting=true) first.
# The tokens table and the failed-events bucket are retained by their
# DeletionPolicy (infra/docs/deploying.md, "Tearing down").
#
#   bash infra/scripts/delete-stack.sh STACK_NAME [--region REGION]
#
# Needs the AWS CLI v2 and SAM CLI with credentials for the stack's account.
set -euo pipefail

stack="${1:?usage: delete-stack.sh STACK_NAME [--region REGION]}"
shift
region_args=("$@")

command -v aws >/dev/null || { echo "delete-stack: the AWS CLI (v2) is required" >&2; exit 1; }
command -v sam >/dev/null || { echo "delete-stack: the SAM CLI is required" >&2; exit 1; }

bucket="$(aws cloudformation describe-stacks --stack-name "$stack" "${region_args[@]}" \
  --query "Stacks[0].Outputs[?OutputKey=='WebBucketName'].OutputValue" --output text)"
if [[ -n "$bucket" && "$bucket" != "None" ]]; then
  # The bucket is not versioned (template.yaml, WebBucket): removing the objects empties it.
  echo "delete-stack: emptying s3://$bucket"
  aws s3 rm "s3://$bucket" --recursive "${region_args[@]}"
fi
region=()
if [[ ${#region_args[@]} -ge 2 && "${region_args[0]}" == "--region" ]]; then
  region=(--region "${region_args[1]}")
fi
sam delete --stack-name "$stack" "${region[@]}" --no-prompts
echo "delete-stack: $stack deleted (the table and the failed-events bucket are kept)"
