#[test]
fn scratch() {
    let r = egov_regulations::Registry::embedded();
    match r { Ok(r) => println!("ok {}", r.len()), Err(e) => panic!("{e}") }
}
