// getPhoneNumber is WeChat's <button open-type="getPhoneNumber">: the event's
// detail (ButtonGetPhoneNumber) is the reply.
import replies from "../replies/getPhoneNumber";

type Detail = WechatMiniprogram.ButtonGetPhoneNumber["detail"];

export const ok: Detail = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.GeneralCallbackResult = replies.failNotLoggedIn;
