//! The admin's discount-code endpoints, one function each.

use lambda_http::Request;

use super::{
    model::{PromoCode, Promotion, PromotionRequest, PromotionUpdate},
    store,
};
use crate::{
    app::App,
    audit::{Action, Entry},
    auth,
    error::{ApiError, ApiResult},
    platform::http::{Reply, json_body, page_request, path_param},
    types::Timestamp,
};

/// `POST /admin/promotions` (admins): a new code; 409 `promotion_exists` when it is taken.
pub async fn create_promotion(app: &'static App, req: Request) -> ApiResult<Reply> {
    let body: PromotionRequest = json_body(&req)?;
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let promo = Promotion::create(body, Timestamp::now())?;
    let audit = Entry::new(
        &who.user_id,
        Action::PromotionCreated,
        &promo.code,
        None,
        Some(&promo),
    )?;
    store::create(app, &promo, &audit).await?;
    tracing::info!(admin = %who.user_id, code = %promo.code, "promotion created");
    Reply::created(&promo)
}

/// `GET /admin/promotions?limit&cursor` (admins): the codes with their uses, A to Z, a page at a
/// time.
pub async fn list_promotions(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = page_request(&req)?;
    auth::authenticate(app, &req).await?.require_admin()?;
    Reply::ok(&store::page(app, &page).await?)
}

/// `PUT /admin/promotions/{code}` (admins): changes its limits or period (ending it is an
/// `ends_at` of now); its discount and count of uses stay.
pub async fn update_promotion(app: &'static App, req: Request) -> ApiResult<Reply> {
    let code = PromoCode::parse("code", &path_param(&req, "code")?)
        .map_err(|_| ApiError::NotFound("promotion"))?;
    let body: PromotionUpdate = json_body(&req)?;
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let current = store::load(app, &code)
        .await?
        .ok_or(ApiError::NotFound("promotion"))?;
    let edited = current.edited(body, Timestamp::now())?;
    let audit = Entry::new(
        &who.user_id,
        Action::PromotionChanged,
        &code,
        Some(&current),
        Some(&edited),
    )?;
    if !store::save_limits(app, &edited, &audit).await? {
        return Err(ApiError::NotFound("promotion"));
    }
    tracing::info!(admin = %who.user_id, code = %code, "promotion changed");
    // Its uses as read just before: checkouts may have counted more since.
    Reply::ok(&edited)
}
