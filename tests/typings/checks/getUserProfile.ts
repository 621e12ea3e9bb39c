// wx.getUserProfile: GetUserProfileSuccessCallbackResult, less `cloudID`
// (cloud development only, as WeChat's docs say; see getUserInfo.ts).
import replies from "../replies/getUserProfile";

type Success = Omit<WechatMiniprogram.GetUserProfileSuccessCallbackResult, "cloudID">;

export const ok: Success = replies.ok;
export const failCancel: WechatMiniprogram.GeneralCallbackResult = replies.failCancel;
