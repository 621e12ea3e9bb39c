// wx.requestMidasPaymentGameItem (mini games): minigame-api-typings'
// MidasPaymentError for the fail callback. The typings give the success
// callback the same type, errCode required; WeChat's docs describe no
// success fields beyond errMsg, so the success check leaves errCode out.
//
// The params: signData is typed as the SignData1 object, but the docs say
// it is passed as JSON text ("需要将数据以json格式传递", the bytes paySig
// signs); the check follows the docs, and what it parses to is SignData1.
import replies from "../replies/requestMidasPaymentGameItem";

type Params = Omit<
  WechatMinigame.RequestMidasPaymentGameItemOption,
  "signData" | "success" | "fail" | "complete"
> & { signData: string };

export const ok: Omit<WechatMinigame.MidasPaymentError, "errCode"> = replies.ok;
export const failCancel: WechatMinigame.MidasPaymentError = replies.failCancel;
export const params: Params = replies.params;
export const signData: WechatMinigame.SignData1 = replies.params.signDataParsed;
