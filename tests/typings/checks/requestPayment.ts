// wx.requestPayment: its callbacks take GeneralCallbackResult (the host's
// extra pay_time / order_no are TCMPP's and allowed beside it). The params
// the crate reads are RequestPaymentOption's.
import replies from "../replies/requestPayment";

type Params = Omit<WechatMiniprogram.RequestPaymentOption, "success" | "fail" | "complete">;

export const ok: WechatMiniprogram.GeneralCallbackResult = replies.ok;
export const failCancel: WechatMiniprogram.GeneralCallbackResult = replies.failCancel;
export const params: Params = replies.params;
