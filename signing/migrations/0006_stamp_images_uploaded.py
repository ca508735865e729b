"""Signature and seal images become uploads under MEDIA_ROOT; the paths typed before are copied in.

A path the migration can read is copied into ``MEDIA_ROOT/chu-ky/`` under a random name
and the row points at the copy. A path it cannot read (the file is only on the signing
machine) is kept as it is: ``signing.models.signers.stamp_image_path`` uses an absolute
name as a path, so that signer keeps signing until an administrator uploads the image.
Going back leaves the names as they are (a relative name then means MEDIA_ROOT's file).
"""

import shutil
import uuid
from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import signing.models.signers


def _copy(path: str, kind: str) -> str:
    source = Path(path)
    if not path or not source.is_absolute():
        return path
    try:
        suffix = ".jpg" if source.suffix.lower() in (".jpg", ".jpeg") else ".png"
        name = f"chu-ky/{kind}-{uuid.uuid4().hex}{suffix}"
        target = Path(settings.MEDIA_ROOT) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except OSError:
        return path  # not readable here: kept as a path (see the module's docstring)
    return name


def copy_images_into_media(apps, schema_editor):
    Signer = apps.get_model("signing", "Signer")
    for signer in Signer.objects.exclude(signature_image="", seal_image=""):
        signature = _copy(str(signer.signature_image), "chu-ky")
        seal = _copy(str(signer.seal_image), "con-dau")
        Signer.objects.filter(pk=signer.pk).update(signature_image=signature, seal_image=seal)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0006_offices_tree_and_memberships"),
        ("signing", "0005_officials_are_members"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(copy_images_into_media, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="batch",
            name="closed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="đóng lúc"),
        ),
        migrations.AlterField(
            model_name="batch",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="tạo lúc"),
        ),
        migrations.AlterField(
            model_name="batch",
            name="office",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batches",
                to="dossiers.office",
                verbose_name="cơ quan",
            ),
        ),
        migrations.AlterField(
            model_name="batch",
            name="procedure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batches",
                to="dossiers.procedure",
                verbose_name="thủ tục",
            ),
        ),
        migrations.AlterField(
            model_name="batch",
            name="signer",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batches",
                to="signing.signer",
                verbose_name="người ký",
            ),
        ),
        migrations.AlterField(
            model_name="batch",
            name="state",
            field=models.CharField(
                choices=[("open", "Đang gom"), ("signing", "Đang ký"), ("done", "Đã xong")],
                default="open",
                max_length=16,
                verbose_name="trạng thái",
            ),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="approved_sha256",
            field=models.CharField(blank=True, max_length=64, verbose_name="SHA-256 đã phê duyệt"),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="batch",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="signing.batch",
                verbose_name="lô ký",
            ),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="quyết định lúc"),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="decided_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="người quyết định",
            ),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="decision",
            field=models.CharField(
                choices=[
                    ("pending", "Chờ quyết định"),
                    ("approved", "Đồng ý"),
                    ("rejected", "Từ chối"),
                ],
                default="pending",
                max_length=16,
                verbose_name="quyết định",
            ),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="document",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="batch_item",
                to="dossiers.document",
                verbose_name="tài liệu",
            ),
        ),
        migrations.AlterField(
            model_name="batchitem",
            name="signed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ký xong lúc"),
        ),
        migrations.AlterField(
            model_name="signer",
            name="office",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="signers",
                to="dossiers.office",
                verbose_name="cơ quan",
            ),
        ),
        migrations.AlterField(
            model_name="signer",
            name="pkcs12_path",
            field=models.CharField(
                blank=True,
                help_text="Đường dẫn tuyệt đối trên máy ký (hàng đợi sign); bắt buộc khi loại khóa là tệp PKCS#12. Tệp khóa không tải lên qua trình duyệt: quản trị hệ thống chép tệp vào máy ký, mật khẩu do người ký nhập khi ký, không lưu ở đâu.",
                max_length=1024,
                verbose_name="tệp khóa PKCS#12",
            ),
        ),
        migrations.AlterField(
            model_name="signer",
            name="seal_image",
            field=models.FileField(
                blank=True,
                help_text="Tải lên ảnh PNG nền trong suốt (hoặc JPEG), cùng giới hạn như ảnh chữ ký; phủ lên 1/3 bên trái ảnh chữ ký.",
                max_length=1024,
                upload_to=signing.models.signers.seal_upload_to,
                validators=[signing.models.signers.check_stamp_image],
                verbose_name="ảnh con dấu",
            ),
        ),
        migrations.AlterField(
            model_name="signer",
            name="signature_image",
            field=models.FileField(
                blank=True,
                help_text="Tải lên ảnh PNG (nên nền trong suốt) hoặc JPEG, tối đa 1024 KB, từ 60×30 đến 4000×4000 điểm ảnh; có ảnh này thì chữ ký hiển thị theo mẫu Phụ lục I Nghị định 30/2020/NĐ-CP.",
                max_length=1024,
                upload_to=signing.models.signers.signature_upload_to,
                validators=[signing.models.signers.check_stamp_image],
                verbose_name="ảnh chữ ký",
            ),
        ),
        migrations.AlterField(
            model_name="signer",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="signers",
                to=settings.AUTH_USER_MODEL,
                verbose_name="tài khoản",
            ),
        ),
    ]
