// getPhoneNumber is WeChat's <button open-type="getPhoneNumber">: the event's
// detail (ButtonGetPhoneNumber) is the reply. The typings make its
// encryptedData and iv optional (Partial<GetWeRunDataSuccessCallbackResult>);
// the built-in reply of a logged-in user carries both, which the check
// requires (cloudID stays out: cloud development only, as WeChat's docs say).
import replies from "../replies/getPhoneNumber";

type Detail = WechatMiniprogram.ButtonGetPhoneNumber["detail"] &
  Pick<WechatMiniprogram.GetWeRunDataSuccessCallbackResult, "encryptedData" | "iv">;

export const ok: Detail = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.GeneralCallbackResult = replies.failNotLoggedIn;
