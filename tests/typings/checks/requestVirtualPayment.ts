// wx.requestVirtualPayment: RequestCommonPaymentSuccessCallbackResult and
// RequestVirtualPaymentFailCallbackErr ({errMsg, errCode}).
//
// The params: the typings type `signData` as the SignData object, but
// WeChat's docs (and the typings' own comment) say it "需以string形式传递",
// is passed as a string (the very bytes paySig and signature sign). The
// check follows the docs: signData is a string, and what it parses to is
// SignData.
import replies from "../replies/requestVirtualPayment";

type Params = Omit<
  WechatMiniprogram.RequestVirtualPaymentOption,
  "signData" | "success" | "fail" | "complete"
> & { signData: string };

export const ok: WechatMiniprogram.RequestCommonPaymentSuccessCallbackResult = replies.ok;
export const failCancel: WechatMiniprogram.RequestVirtualPaymentFailCallbackErr = replies.failCancel;
export const params: Params = replies.params;
export const signData: WechatMiniprogram.SignData = replies.params.signDataParsed;
