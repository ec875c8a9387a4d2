//! A TLS terminator in front of DynamoDB Local, which speaks plain HTTP: on Lambda every cold
//! start's first DynamoDB call pays a handshake, and without this no figure would contain one.
//!
//! The certificate authority is made for one run and thrown away. Only a `bench-tls` build of the
//! functions trusts it (through `BENCH_CA_FILE`); deployed builds trust Amazon's roots alone. The
//! chain has DynamoDB's shape: a root, an intermediate sent with the leaf, the leaf (ECDSA P-256,
//! whose verification costs the client a little more than the RSA-2048 AWS serves).

use std::{net::SocketAddr, path::Path, sync::Arc};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("no names to parse");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// Makes the run's chain, writes its root to `ca_file`, and returns the terminator's TLS settings.
pub(crate) fn authority(ca_file: &Path) -> Arc<rustls::ServerConfig> {
    let root = CertifiedIssuer::self_signed(
        ca_params("shop benchmark root (throwaway)"),
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("shop benchmark intermediate (throwaway)"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let leaf = leaf.signed_by(&leaf_key, &intermediate).unwrap();

    std::fs::create_dir_all(ca_file.parent().unwrap()).unwrap();
    std::fs::write(ca_file, root.pem()).unwrap();

    let chain = vec![leaf.der().clone(), intermediate.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    Arc::new(config)
}

/// Serves TLS on a free port in front of `upstream` (DynamoDB Local); returns its endpoint.
pub(crate) async fn serve(config: Arc<rustls::ServerConfig>, upstream: SocketAddr) -> String {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                client.set_nodelay(true).ok();
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut db) = TcpStream::connect(upstream).await else {
                    return;
                };
                db.set_nodelay(true).ok();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut db).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deployed build (no `bench-tls`) refuses the benchmark's CA even when the environment
    /// names it, while a client that does trust it completes the handshake (so the refusal is
    /// the trust store's, not a broken terminator).
    #[tokio::test]
    async fn only_a_benchmark_build_trusts_the_throwaway_ca() {
        let dir = std::env::temp_dir().join(format!("shop-tls-{}", ulid::Ulid::new()));
        let ca_file = dir.join("ca.pem");
        let config = authority(&ca_file);
        // Nothing listens upstream: only the handshake matters.
        let endpoint = serve(config, ([127, 0, 0, 1], 9).into()).await;
        // SAFETY: no other test of this crate reads the environment.
        unsafe { std::env::set_var(shop::app::BENCH_CA_FILE, &ca_file) };

        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(shop::app::https_client())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                aws_sdk_dynamodb::config::Credentials::new("k", "s", None, None, "test"),
            ))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .endpoint_url(&endpoint)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build(),
        );
        let refused = client.list_tables().send().await.unwrap_err();
        let why = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&refused));
        assert!(
            why.contains("UnknownIssuer") || why.contains("invalid peer certificate"),
            "{why}"
        );

        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&ca_file).unwrap())
            .unwrap();
        let trusting = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(endpoint.trim_start_matches("https://"))
            .await
            .unwrap();
        tokio_rustls::TlsConnector::from(Arc::new(trusting))
            .connect("127.0.0.1".try_into().unwrap(), tcp)
            .await
            .expect("a client trusting the CA completes the handshake");
        std::fs::remove_dir_all(dir).ok();
    }
}
