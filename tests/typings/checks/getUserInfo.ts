// wx.getUserInfo: GetUserInfoSuccessCallbackResult, less `cloudID`. The
// typings mark cloudID required; WeChat's docs say only mini programs with
// cloud development receive it, which a super app's mini programs do not
// have, so the check follows the docs.
import replies from "../replies/getUserInfo";

type Success = Omit<WechatMiniprogram.GetUserInfoSuccessCallbackResult, "cloudID">;

export const ok: Success = replies.ok;
export const failCancel: WechatMiniprogram.GeneralCallbackResult = replies.failCancel;
