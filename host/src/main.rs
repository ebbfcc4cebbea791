//! `clienthub`: the host (`serve`), its benchmark (`bench`), and thin clients of the admin API.
//! The commands live in [`cli`].

mod cli;

fn main() -> anyhow::Result<()> {
    cli::main()
}
