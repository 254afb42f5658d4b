//! Message bodies are third-party HTML: everything the API or the UI hands
//! out is cleaned first, by core's sanitiser (core, so that the fuzz targets
//! call the same function without the server).

pub use changedesk_core::sanitize::body;
