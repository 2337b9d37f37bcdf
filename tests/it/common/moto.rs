//! An S3-compatible server for tests: one `moto_server` (PyPI `moto[server]`) per test
//! process, started on first use on a free loopback port, stopped when the process ends.
//! Without `moto_server` the S3 tests skip visibly, unless `UC_REQUIRE_S3=1` (CI).

use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The running server.
pub struct Moto {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// A shell that kills moto when our end of its stdin closes (this process exits).
    _guard: Mutex<Child>,
}

impl Moto {
    /// The process's moto, started on first use; `None` (after a visible note) when
    /// `moto_server` is not installed and `UC_REQUIRE_S3` is not `1`.
    pub fn shared() -> Option<&'static Moto> {
        static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
        MOTO.get_or_init(Moto::start).as_ref()
    }

    fn start() -> Option<Moto> {
        let required = std::env::var("UC_REQUIRE_S3").is_ok_and(|v| v == "1");
        let installed = Command::new("moto_server")
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                !required,
                "UC_REQUIRE_S3=1 but moto_server is not installed"
            );
            super::skip_visibly(
                "S3 blob store",
                "moto_server (pip install 'moto[server]') is not installed",
            );
            return None;
        }
        // Any credentials do for moto; object_store reads them from the environment.
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; read _; kill $m"
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Moto {
            endpoint,
            _guard: Mutex::new(child),
        })
    }

    /// Creates a fresh bucket (object_store cannot: a plain `PUT /<bucket>`) and answers
    /// its name.
    pub async fn bucket(&self) -> String {
        let name = format!("uc-{}", uuid::Uuid::new_v4().simple());
        let r = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        name
    }

    /// The blob-store URL of `bucket`.
    pub fn url(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}&region=us-east-1", self.endpoint)
    }

    /// A client of `bucket`, independent of the emulator's.
    fn client(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .expect("S3 client")
    }

    /// The keys in `bucket` under `prefix`.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        use futures_util::TryStreamExt;
        use object_store::ObjectStore;
        let prefix = object_store::path::Path::from(prefix);
        self.client(bucket)
            .list(Some(&prefix))
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .expect("list bucket")
    }

    /// The object at `key` in `bucket`, if any.
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStore;
        match self.client(bucket).get(&key.into()).await {
            Ok(got) => Some(got.bytes().await.expect("read object").to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("get {key}: {e}"),
        }
    }
}
