"""Error codes of uploads and documents, registered with handlers/errors.py on import.

413 too big, 415 not an allowed kind of file, 422 a real image we cannot accept (unreadable or poor)."""
from __future__ import annotations

from handlers import errors

errors.register({
    "image_empty": (422, "上传的文件是空的，请重新选择照片"),
    "image_too_large": (413, "照片文件太大（不能超过10MB），请压缩后或直接用手机拍照上传"),
    "image_too_many_pixels": (413, "照片像素过大，请使用手机相机直接拍摄的照片上传"),
    "image_not_image": (415, "只能上传JPG或PNG格式的照片"),
    "image_polyglot": (415, "文件中夹带了非图片内容，请上传手机直接拍摄的照片"),
    "image_animated": (415, "不能上传动图，请上传静态的JPG或PNG照片"),
    "image_corrupt": (422, "照片文件已损坏或不完整，请重新拍摄后上传"),
    "image_too_small": (422, "照片分辨率太低，看不清内容，请靠近拍摄并上传原图"),
    "image_too_dark": (422, "照片太暗，请在光线充足的地方重新拍摄"),
    "image_overexposed": (422, "照片过亮，字迹看不清，请避开强光、关闭闪光灯后重新拍摄"),
    "image_blurred": (422, "照片模糊，请对准文字对焦、保持手机稳定后重新拍摄"),
    "image_no_seal": (422, "照片中未看到用人单位的红色公章，请上传盖章后的协议书完整照片"),
})
