//! Per-project price overrides over the API, with the API key:
//! `GET|PUT|DELETE /api/prices/{model}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{ApiKeyProject, JsonBody};
use crate::cost::{ModelPrice, PriceTable, describe_price_in};

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/prices/{model}",
        get(show_price).put(set_price).delete(delete_price),
    )
}

async fn show_price(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    Path(model): Path<String>,
) -> Json<Value> {
    let tables = state.pricer.tables(project.id);
    let refs: Vec<&PriceTable> = tables.iter().map(|table| table.as_ref()).collect();
    let resolved = crate::cost::resolve_in(&refs, &[model.as_str()]);
    Json(json!({
        "model": model,
        "matched": resolved.as_ref().map(|r| r.key.clone()),
        "table": resolved.as_ref().map(|r| r.table.clone()),
        "price": resolved.map(|r| r.price),
        "description": describe_price_in(&refs, &model),
    }))
}

/// Sets the project's prices for a model from a body in the price table's
/// field names, e.g. `{"input_cost_per_token": 0.0000025,
/// "output_cost_per_token": 0.00001}`.
async fn set_price(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    Path(model): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    if let Err(err) = ModelPrice::from_value(&body) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_price",
            "Invalid price",
            format!(
                "The price for {model} is invalid ({err}); send per-token dollar prices such \
                 as {{\"input_cost_per_token\": 0.0000025, \"output_cost_per_token\": 0.00001}}."
            ),
        ));
    }
    state
        .store
        .set_price_override(project.id, &model, Some(body.to_string()))
        .await?;
    state
        .pricer
        .set_overrides(&state.store.price_overrides().await?);
    Ok(Json(json!({"status": "success", "model": model})))
}

async fn delete_price(
    State(state): State<AppState>,
    ApiKeyProject(project): ApiKeyProject,
    Path(model): Path<String>,
) -> ApiResult<Json<Value>> {
    let removed = state
        .store
        .set_price_override(project.id, &model, None)
        .await?;
    if removed == 0 {
        return Err(ApiError::not_found(
            "price_override_not_found",
            format!("The project has no price override for {model}; nothing was removed."),
        ));
    }
    state
        .pricer
        .set_overrides(&state.store.price_overrides().await?);
    Ok(Json(json!({"status": "success", "model": model})))
}
