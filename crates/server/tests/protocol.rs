//! Every rule of PROTOCOL.md against the real server, byte for byte.

mod common;

use common::*;
use tokio::io::AsyncWriteExt;

include!("suite/protocol.rs");
