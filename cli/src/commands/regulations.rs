//! `egovctl regulations list|show` (stub: being written).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("egovctl regulations is not written yet")
}
