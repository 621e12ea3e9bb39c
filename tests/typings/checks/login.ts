// wx.login: LoginSuccessCallbackResult / LoginFailCallbackErr.
import replies from "../replies/login";

export const ok: WechatMiniprogram.LoginSuccessCallbackResult = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.LoginFailCallbackErr = replies.failNotLoggedIn;
