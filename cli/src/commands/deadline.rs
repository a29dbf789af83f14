//! `egovctl deadline <code> --channel <channel> --at <time>` (stub: being written).

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("egovctl deadline is not written yet")
}
