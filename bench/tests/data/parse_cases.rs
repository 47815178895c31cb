fn cases() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        br#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":"\ud83d\ude00","method":"m\u00e9"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":"\ud800","method":"x"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"x","params":["\udc00"]}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"result":"caf\u00e9"}"#.to_vec(),
        br#"[{"jsonrpc":"2.0","id":1,"method":"a"},1,{"foo":"bar"}]"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"a""#.to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"a"} x"#.to_vec(),
        "{\"jsonrpc\":\"2.0\",\"id\":\"é\",\"method\":\"ü\"}"
            .as_bytes()
            .to_vec(),
        b"".to_vec(),
        b"[]".to_vec(),
        b"  \n ".to_vec(),
    ];
    // invalid UTF-8 in an ignored member, in the method, in params, in an id, outside strings
    v.push(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"extra\":\"\xff\"}".to_vec());
    v.push(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}".to_vec());
    v.push(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"params\":[\"\xc3\"]}".to_vec());
    v.push(b"{\"jsonrpc\":\"2.0\",\"id\":\"\xed\xa0\x80\",\"method\":\"a\"}".to_vec());
    v.push(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\xff".to_vec());
    v.push(b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}".to_vec());
    v.push(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\"}]".to_vec());
    v
}
