pub mod audit_export;
pub mod health;
pub mod live;
