//! The catalog: product CRUD (admin), listing with search and paging, image uploads through
//! presigned S3 URLs, and the batch stock check.
//! `model`, `search` (pure) <- `store` (DynamoDB), `images` (S3 signing) <- `handlers` (one per endpoint).

pub mod handlers;
pub mod images;
pub mod model;
pub mod pictures;
pub mod search;
pub mod store;

pub use handlers::{
    create_product, delete_product, get_inventory, get_product, list_products, low_stock,
    product_image, resize_image, update_product,
};
pub use model::{CreateProductRequest, NewProduct, ProductView};
pub use store::{backfill_index, create, load_product, load_products};
