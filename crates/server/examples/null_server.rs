//! The performance ceiling: a server that parses nothing and answers `ok`
//! to every line, with the same tokio setup as eardrum's. Benchmarks compare
//! eardrum against it.
//!
//! ```text
//! cargo run --release -p eardrum-server --example null_server -- [PORT]
//! eardrum bench --addr 127.0.0.1:PORT --no-query
//! ```

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "9999".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    eprintln!("null server listening addr={}", listener.local_addr()?);
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let mut input = vec![0u8; 64 * 1024];
            let mut output = Vec::with_capacity(64 * 1024);
            loop {
                let read = match stream.read(&mut input).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => read,
                };
                let lines = input[..read].iter().filter(|&&b| b == b'\n').count();
                output.clear();
                for _ in 0..lines {
                    output.extend_from_slice(b"ok\n\n");
                }
                if stream.write_all(&output).await.is_err() {
                    return;
                }
            }
        });
    }
}
