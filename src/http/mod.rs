//! The platform over HTTP (feature `http`): the axum server, the remote
//! `Platform` client for hosts, and the client for developer servers.
