//! One module per subcommand.

pub mod checkpoint;
pub mod demo;
pub mod export;
pub mod import;
pub mod init;
pub mod proof;
pub mod replay;
pub mod serve;
pub mod verify;
