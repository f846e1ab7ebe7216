"""Error codes of uploads, documents and the employer's SMS links, defined in the catalog of signing/errors.py on
import.

TOO_LARGE too big, UNSUPPORTED_TYPE not an allowed kind of file, UNPROCESSABLE a real image we cannot accept
(unreadable or poor)."""
from __future__ import annotations

from signing.errors import Kind, define

define({
    "image_empty": (Kind.UNPROCESSABLE, "上传的文件是空的，请重新选择照片"),
    "image_too_large": (Kind.TOO_LARGE, "照片文件太大（不能超过10MB），请压缩后或直接用手机拍照上传"),
    "image_too_many_pixels": (Kind.TOO_LARGE, "照片像素过大，请使用手机相机直接拍摄的照片上传"),
    "image_not_image": (Kind.UNSUPPORTED_TYPE, "只能上传JPG或PNG格式的照片"),
    "image_polyglot": (Kind.UNSUPPORTED_TYPE, "文件中夹带了非图片内容，请上传手机直接拍摄的照片"),
    "image_animated": (Kind.UNSUPPORTED_TYPE, "不能上传动图，请上传静态的JPG或PNG照片"),
    "image_corrupt": (Kind.UNPROCESSABLE, "照片文件已损坏或不完整，请重新拍摄后上传"),
    "image_too_small": (Kind.UNPROCESSABLE, "照片分辨率太低，看不清内容，请靠近拍摄并上传原图"),
    "image_too_dark": (Kind.UNPROCESSABLE, "照片太暗，请在光线充足的地方重新拍摄"),
    "image_overexposed": (Kind.UNPROCESSABLE, "照片过亮，字迹看不清，请避开强光、关闭闪光灯后重新拍摄"),
    "image_blurred": (Kind.UNPROCESSABLE, "照片模糊，请对准文字对焦、保持手机稳定后重新拍摄"),
    "image_no_seal": (Kind.UNPROCESSABLE, "照片中未看到用人单位的红色公章，请上传盖章后的协议书完整照片"),
    # documents/recognition.py: the photo is compared with the agreement it is uploaded for
    "photo_qr_other_agreement": (Kind.UNPROCESSABLE, "照片中的二维码属于另一份协议，请上传本协议盖章后的照片"),
    "photo_number_mismatch": (Kind.UNPROCESSABLE, "照片中的协议编号与本协议不一致"),
    "photo_name_mismatch": (Kind.UNPROCESSABLE, "照片中的毕业生姓名与本协议不一致"),
    "photo_unreadable": (Kind.UNPROCESSABLE, "未能识别协议编号，请拍摄完整页面"),
    "photo_qr_unreadable": (Kind.UNPROCESSABLE, "未能识别签章页上的二维码，请拍摄包含二维码的完整页面"),
    "photo_record_invalid": (Kind.NOT_FOUND, "未找到要上传照片的协议"),
    # the upload endpoints, the agreement documents and the employer's SMS links
    "upload_form_invalid": (Kind.INVALID, "上传的内容格式不正确，请重新选择照片上传"),
    "upload_file_missing": (Kind.INVALID, "请选择要上传的照片"),
    "upload_unavailable": (Kind.UNAVAILABLE, "照片暂时无法保存，请稍后重新上传"),
    "upload_too_many_photos": (Kind.INVALID, "照片数量超过协议书页数，请每页只上传一张照片"),
    "image_no_seal_on_any_page": (Kind.UNPROCESSABLE, "所有照片中都未看到用人单位的红色公章，请在签章页盖章后重新拍摄上传"),
    "wechat_media_invalid": (Kind.INVALID, "微信中的图片已失效或不存在，请重新选择照片上传"),
    "agreement_unknown": (Kind.NOT_FOUND, "未找到该就业协议，请核对二维码或链接是否完整"),
    "employer_link_not_allowed": (Kind.CONFLICT, "只有就业协议审核通过、等待回传盖章协议书时，才能请用人单位协助回传"),
    "employer_link_rate_limited": (Kind.TOO_MANY, "发送过于频繁，请稍后再试"),
    "employer_link_invalid": (Kind.NOT_FOUND, "链接无效，请核对短信中的链接是否完整"),
    "employer_link_expired": (Kind.GONE, "链接已过期，请联系毕业生重新发送"),
    "employer_link_superseded": (Kind.GONE, "毕业生已重新发送链接，此链接已失效，请使用最新短信中的链接"),
    "employer_link_used": (Kind.GONE, "盖章协议书已通过此链接回传，链接已失效；如需重新回传，请联系毕业生重新发送"),
    "employer_link_closed": (Kind.GONE, "该协议当前无需回传盖章协议书，链接已失效"),
})
