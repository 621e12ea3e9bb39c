// getNickName is TCMPP's (WeChat has <input type="nickname"> instead):
// neither typings package declares it. Checked against docs/api-mapping.md's
// shape ({nickName}, UserInfo's field name) on the common callback.
import replies from "../replies/getNickName";

interface GetNickNameSuccessCallbackResult extends WechatMiniprogram.GeneralCallbackResult {
  nickName: string;
}

export const ok: GetNickNameSuccessCallbackResult = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.GeneralCallbackResult = replies.failNotLoggedIn;
