use axum::{Json, extract::State, http::StatusCode};
use domain::{
    Errors, Page, Paged,
    sms::sender_ids::{self, ApprovedSenderId, NewSenderIdRequest, Review, SenderIdRequest},
};
use serde::Deserialize;

use crate::routes::members::PageQuery;
use crate::{
    ApiResult, AppState,
    extract::{
        Auth, Caller, IdPath, JsonBody, Query,
        need::{MembersRead, MembersWrite, Signed},
    },
};

pub async fn request(
    State(state): State<AppState>,
    auth: Auth<MembersWrite>,
    body: JsonBody<NewSenderIdRequest>,
) -> ApiResult<(StatusCode, Json<SenderIdRequest>)> {
    let r = sender_ids::request(&state.pool, auth.session.user.organization_id, body.value).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    status: Option<String>,
    page: Option<String>,
    page_size: Option<String>,
}

pub async fn list_requests(
    State(state): State<AppState>,
    auth: Auth<MembersRead>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Paged<SenderIdRequest>>> {
    let mut errors = Errors::default();
    let status = sender_ids::status_filter(q.status.as_deref(), &mut errors);
    let page = Page::parse(&mut errors, q.page.as_deref(), q.page_size.as_deref());
    errors.finish()?;
    Ok(Json(
        sender_ids::list(&state.pool, &auth.session.user, status, page).await?,
    ))
}

/// A platform admin's decision on a sender-ID request.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = SenderIdReview)]
pub struct ReviewBody {
    /// APPROVE or REJECT.
    #[schema(value_type = String, required = true, example = "APPROVE", pattern = "^(APPROVE|REJECT)$")]
    decision: Option<String>,
    /// A note for the organization.
    #[schema(value_type = String, required = false, example = "approved for OTP traffic")]
    note: Option<String>,
}

/// Platform admins only; the role check happens in the domain (a flag on the user, not a role).
pub async fn review(
    State(state): State<AppState>,
    auth: Auth<Signed>,
    IdPath(id): IdPath,
    body: JsonBody<ReviewBody>,
) -> ApiResult<Json<SenderIdRequest>> {
    let input = Review {
        decision: body.value.decision,
        note: body.value.note,
    };
    Ok(Json(
        sender_ids::review(&state.pool, &auth.session.user, id, input).await?,
    ))
}

/// Approved sender IDs: `/v1/sms/sender-ids` (session) and `/v1/public/sms/sender-ids` (read:sms).
pub async fn approved<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paged<ApprovedSenderId>>> {
    let page = q.parse()?;
    Ok(Json(
        sender_ids::approved(&state.pool, caller.organization_id(), page).await?,
    ))
}
