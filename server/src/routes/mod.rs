pub mod health;
pub mod live;
