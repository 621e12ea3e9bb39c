// getEmail is TCMPP's, not WeChat's: neither typings package declares it.
// Checked against the shape docs/api-mapping.md gives (a one-time `code` for
// the developer server's getemailaddress) on WeChat's common callback.
import replies from "../replies/getEmail";

interface GetEmailSuccessCallbackResult extends WechatMiniprogram.GeneralCallbackResult {
  code: string;
}

export const ok: GetEmailSuccessCallbackResult = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.GeneralCallbackResult = replies.failNotLoggedIn;
