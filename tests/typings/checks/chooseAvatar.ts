// chooseAvatar is WeChat's <button open-type="chooseAvatar">, whose event
// detail ({avatarUrl}, per WeChat's "头像昵称填写" docs) the typings do not
// declare: checked against that documented shape on the common callback.
import replies from "../replies/chooseAvatar";

interface ChooseAvatarDetail extends WechatMiniprogram.GeneralCallbackResult {
  avatarUrl: string;
}

export const ok: ChooseAvatarDetail = replies.ok;
export const failNotLoggedIn: WechatMiniprogram.GeneralCallbackResult = replies.failNotLoggedIn;
