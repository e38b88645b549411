//! Reaching a server from the client commands' flags: the protocol
//! connection, the HTTP agent, and the token file.

use crate::args::{Endpoint, Remote};
use anyhow::Context;
use eardrum_client::{Client, ConnectOptions, Error, TlsOptions};
use eardrum_server::AuthToken;
use std::path::Path;
use std::sync::Arc;

/// Connects with the command line's host, port, timeout, TLS and token.
pub(crate) fn connect(remote: &Remote) -> anyhow::Result<Client> {
    let security = &remote.endpoint.security;
    let options = ConnectOptions {
        timeout: remote.endpoint.timeout.0,
        tls: (security.tls || security.tls_ca.is_some())
            .then(|| TlsOptions { ca_file: security.tls_ca.clone(), server_name: None }),
        auth_token: security.auth_token_file.as_deref().map(read_token).transpose()?,
    };
    Ok(Client::connect_with(remote.address(), &options)?)
}

/// Adds a hint to an `error` reply when no token was given: a server that
/// requires one answers the first request so, and closes.
pub(crate) fn explain(error: Error, remote: &Remote) -> anyhow::Error {
    let hint = matches!(error, Error::Server { .. }) && remote.endpoint.security.auth_token_file.is_none();
    let error = anyhow::Error::new(error);
    match hint {
        true => {
            error.context("the server refused the request (if it requires a token, pass --auth-token-file)")
        }
        false => error,
    }
}

/// Reads a token file exactly as the server reads its own: the content
/// without the line end an editor adds, refused if it could not travel in
/// an `auth` line.
pub(crate) fn read_token(path: &Path) -> anyhow::Result<String> {
    Ok(AuthToken::read_file(path)?.as_str().to_owned())
}

/// An HTTP agent with the endpoint's timeout, trusting `--tls-ca` when
/// given, else the usual roots.
pub(crate) fn http_agent(endpoint: &Endpoint) -> anyhow::Result<ureq::Agent> {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let mut tls = TlsConfig::builder();
    if let Some(path) = &endpoint.security.tls_ca {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let certs = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            })
            .collect::<Result<Vec<Certificate<'static>>, _>>()
            .with_context(|| format!("reading certificates from {}", path.display()))?;
        tls = tls.root_certs(RootCerts::Specific(Arc::new(certs)));
    }
    let config = ureq::Agent::config_builder().tls_config(tls.build()).timeout_global(endpoint.timeout.0);
    Ok(config.build().new_agent())
}
