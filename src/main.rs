fn main() {
    println!("tracewell");
}
