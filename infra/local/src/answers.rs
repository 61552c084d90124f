//! The answers API Gateway gives itself, without calling a function: a REST API's
//! gateway responses (with the template's `GatewayResponses` status and headers), the
//! CORS preflight, and "Missing Authentication Token" for what no route matches; an
//! HTTP API's fixed answers (`{"message":"Not Found"}`, `Unauthorized`, `Forbidden`,
//! `Internal Server Error`).

use std::collections::BTreeMap;

use serde_json::json;

use crate::authz::{deny_message, GatewayError};
use crate::response::{insert, json as json_response, with_body, HttpResponse};
use crate::sam::{ApiKind, CorsDef, GatewayResponseDef, LocalApi};

pub struct GatewayAnswers {
    kind: ApiKind,
    cors: Option<CorsDef>,
    gateway_responses: BTreeMap<String, GatewayResponseDef>,
    /// CORS origin of the answers the template does not describe (`/local/` routes).
    web_origin: String,
}

impl GatewayAnswers {
    pub fn new(api: &LocalApi, web_origin: String) -> Self {
        GatewayAnswers {
            kind: api.kind,
            cors: api.cors.clone(),
            gateway_responses: api.gateway_responses.clone(),
            web_origin,
        }
    }

    pub fn web_origin(&self) -> &str {
        &self.web_origin
    }

    /// CORS preflight as SAM's `Cors` sets it up (a MOCK integration on OPTIONS).
    pub fn preflight(&self) -> HttpResponse {
        let mut response = with_body(200, "");
        insert(&mut response, "content-type", "application/json");
        let Some(cors) = &self.cors else {
            insert(
                &mut response,
                "access-control-allow-origin",
                &self.web_origin,
            );
            insert(
                &mut response,
                "access-control-allow-headers",
                "Authorization,Content-Type",
            );
            insert(
                &mut response,
                "access-control-allow-methods",
                "POST,OPTIONS",
            );
            return response;
        };
        insert(
            &mut response,
            "access-control-allow-origin",
            &cors.allow_origin,
        );
        let optional = [
            ("access-control-allow-headers", &cors.allow_headers),
            ("access-control-allow-methods", &cors.allow_methods),
            ("access-control-max-age", &cors.max_age),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                insert(&mut response, name, value);
            }
        }
        if cors.allow_credentials {
            insert(&mut response, "access-control-allow-credentials", "true");
        }
        response
    }

    /// API Gateway's 403 for an `AWS_IAM` route called unsigned or mis-signed.
    pub fn iam_refused(&self, refusal: crate::sigv4::IamRefusal) -> HttpResponse {
        use crate::sigv4::IamRefusal;
        match refusal {
            IamRefusal::Missing => self.missing_token(),
            IamRefusal::Expired | IamRefusal::BadSignature => self.gateway_response(
                "INVALID_SIGNATURE",
                403,
                Some(refusal.message()),
                "InvalidSignatureException",
            ),
            IamRefusal::Malformed | IamRefusal::UnknownKey => self.gateway_response(
                "ACCESS_DENIED",
                403,
                Some(refusal.message()),
                "IncompleteSignatureException",
            ),
        }
    }

    /// What no route matches.
    pub fn missing_token(&self) -> HttpResponse {
        if self.kind == ApiKind::Http {
            return http_api_answer(404, "Not Found");
        }
        self.gateway_response(
            "MISSING_AUTHENTICATION_TOKEN",
            403,
            Some("Missing Authentication Token"),
            "MissingAuthenticationTokenException",
        )
    }

    pub fn too_large(&self) -> HttpResponse {
        if self.kind == ApiKind::Http {
            return http_api_answer(413, "Request Entity Too Large");
        }
        self.gateway_response(
            "REQUEST_TOO_LARGE",
            413,
            Some("Request Too Long"),
            "RequestTooLargeException",
        )
    }

    pub fn configuration_error(&self) -> HttpResponse {
        if self.kind == ApiKind::Http {
            return http_api_answer(500, "Internal Server Error");
        }
        self.gateway_response(
            "API_CONFIGURATION_ERROR",
            500,
            Some("Internal server error"),
            "InternalServerErrorException",
        )
    }

    pub fn function_error(&self) -> HttpResponse {
        if self.kind == ApiKind::Http {
            return http_api_answer(500, "Internal Server Error");
        }
        self.gateway_response(
            "DEFAULT_5XX",
            502,
            Some("Internal server error"),
            "InternalServerErrorException",
        )
    }

    pub fn error(&self, error: GatewayError) -> HttpResponse {
        if self.kind == ApiKind::Http {
            return match error {
                GatewayError::Unauthorized => http_api_answer(401, "Unauthorized"),
                GatewayError::AccessDenied(_) => http_api_answer(403, "Forbidden"),
                GatewayError::AuthorizerFailure => http_api_answer(500, "Internal Server Error"),
            };
        }
        match error {
            GatewayError::Unauthorized => self.gateway_response(
                "UNAUTHORIZED",
                401,
                Some("Unauthorized"),
                "UnauthorizedException",
            ),
            GatewayError::AccessDenied(decision) => self.gateway_response(
                "ACCESS_DENIED",
                403,
                deny_message(decision),
                "AccessDeniedException",
            ),
            GatewayError::AuthorizerFailure => self.gateway_response(
                "AUTHORIZER_CONFIGURATION_ERROR",
                500,
                None,
                "AuthorizerConfigurationException",
            ),
        }
    }

    /// `{"message": ...}` with the status and headers of the template's GatewayResponses
    /// entry for `kind`, else its DEFAULT_4XX / DEFAULT_5XX.
    fn gateway_response(
        &self,
        kind: &str,
        status: u16,
        message: Option<&str>,
        error_type: &str,
    ) -> HttpResponse {
        let fallback = if status >= 500 {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let definition = self
            .gateway_responses
            .get(kind)
            .or_else(|| self.gateway_responses.get(fallback));
        let status = definition.and_then(|d| d.status).unwrap_or(status);
        let mut response = json_response(status, &json!({ "message": message }));
        insert(&mut response, "x-amzn-ErrorType", error_type);
        for (name, value) in definition.map(|d| d.headers.as_slice()).unwrap_or_default() {
            insert(&mut response, name, value);
        }
        response
    }
}

/// An HTTP API's own answer: `{"message": ...}`, no gateway responses to apply.
fn http_api_answer(status: u16, message: &str) -> HttpResponse {
    json_response(status, &json!({ "message": message }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use patgate::permissions::PolicyDecision;

    fn answers() -> GatewayAnswers {
        let mut responses = BTreeMap::new();
        responses.insert(
            "UNAUTHORIZED".to_owned(),
            GatewayResponseDef {
                status: Some(401),
                headers: vec![("WWW-Authenticate".into(), "Bearer".into())],
            },
        );
        responses.insert(
            "DEFAULT_4XX".to_owned(),
            GatewayResponseDef {
                status: None,
                headers: vec![("Access-Control-Allow-Origin".into(), "http://w".into())],
            },
        );
        GatewayAnswers {
            kind: ApiKind::Rest,
            cors: None,
            gateway_responses: responses,
            web_origin: "http://w".to_owned(),
        }
    }

    #[test]
    fn gateway_responses_take_the_template_entry_or_its_default() {
        let answers = answers();
        let unauthorized = answers.error(GatewayError::Unauthorized);
        assert_eq!(unauthorized.status(), 401);
        assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
        let denied = answers.error(GatewayError::AccessDenied(PolicyDecision::ExplicitDeny));
        assert_eq!(denied.status(), 403);
        assert_eq!(denied.headers()["access-control-allow-origin"], "http://w");
        assert_eq!(
            denied.headers()["x-amzn-errortype"],
            "AccessDeniedException"
        );
        assert_eq!(answers.function_error().status(), 502);
        assert_eq!(
            answers.preflight().headers()["access-control-allow-methods"],
            "POST,OPTIONS"
        );
    }

    #[test]
    fn http_apis_answer_with_their_own_fixed_messages() {
        let answers = GatewayAnswers {
            kind: ApiKind::Http,
            ..answers()
        };
        let cases = [
            (answers.missing_token(), 404),
            (answers.error(GatewayError::Unauthorized), 401),
            (
                answers.error(GatewayError::AccessDenied(PolicyDecision::ExplicitDeny)),
                403,
            ),
            (answers.error(GatewayError::AuthorizerFailure), 500),
            (answers.function_error(), 500),
        ];
        for (response, status) in cases {
            assert_eq!(response.status(), status);
            assert!(!response.headers().contains_key("www-authenticate"));
        }
    }
}
