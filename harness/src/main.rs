fn main() {
    std::process::exit(forkspec::cli::main());
}
