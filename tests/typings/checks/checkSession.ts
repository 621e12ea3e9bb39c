// wx.checkSession: its success and fail callbacks both take GeneralCallbackResult.
import replies from "../replies/checkSession";

export const ok: WechatMiniprogram.GeneralCallbackResult = replies.ok;
export const failExpired: WechatMiniprogram.GeneralCallbackResult = replies.failExpired;
