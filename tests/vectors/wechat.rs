// WeChat's published open-data vectors, shared by tests/opendata.rs and the
// unit tests of src/opendata/cipher.rs (which `include!` this file).

/// WeChat's signature example ("Signature Verification and
/// Encryption/Decryption of User Data",
/// developers.weixin.qq.com/minigame/en/dev/tutorial/open-ability/signature.html).
#[allow(dead_code)]
pub(crate) const SIGNATURE_KEY: &str = "HyVFkGl5F5OQWJZZaNzBBg==";
#[allow(dead_code)]
pub(crate) const SIGNATURE_RAW_DATA: &str = concat!(
    r#"{"nickName":"Band","gender":1,"language":"zh_CN","city":"Guangzhou","#,
    r#""province":"Guangdong","country":"CN","avatarUrl":"#,
    r#""http://wx.qlogo.cn/mmopen/vi_32/1vZvI39NWFQ9XM4LtQpFrQJ1xlgZxx3w7bQxKARol6503Iuswjjn6nIGBiaycAjAtpujxyzYsrztuuICqIM5ibXQ/0"}"#,
);
#[allow(dead_code)]
pub(crate) const SIGNATURE: &str = "75e81ceda165f4ffa64f4068af58c64b8f54b88c";

/// WeChat's decryption sample, as wechatpy's
/// `tests/test_crypto.py::test_wxa_decrypt_message` uses it.
#[allow(dead_code)]
pub(crate) const APPID: &str = "wx4f4bc4dec97d474b";
#[allow(dead_code)]
pub(crate) const SESSION_KEY: &str = "tiihtNczf5v6AKRyjwEUhQ==";
#[allow(dead_code)]
pub(crate) const IV: &str = "r7BXXKkLb8qrSNn05n0qiA==";
#[allow(dead_code)]
pub(crate) const ENCRYPTED_DATA: &str = concat!(
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC",
    "+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2",
    "/fV6ChevvXvQP8Hkue1poOFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz",
    "/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E",
    "/r7Z6xNrXd2UIeorGj5Ef7b1pJAYB6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns",
    "/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJdNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG",
    "20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01EpqOyuxINew==",
);
