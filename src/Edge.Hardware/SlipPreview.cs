using Edge.Domain;
using Edge.Imaging;

namespace Edge.Hardware;

/// <summary>
/// A picture of a slip with the printer's layout (384 dots wide, one row of text per 24 dots), for the page and for
/// checking slips without paper. Text uses the built-in ASCII font, so Chinese lines show as '?' here (the printer
/// prints them in its own GB18030 font); the QR code is drawn as a labelled box because the printer renders it itself.
/// </summary>
public static class SlipPreview
{
    private const int Width = EscPos.PaperDots;
    private const int LineHeight = 24;
    private const int QrSide = 120;
    private const byte Paper = 255;
    private const byte Ink = 0;

    public static Gray8Image Render(Slip slip)
    {
        ArgumentNullException.ThrowIfNull(slip);
        var height = 16 + slip.Blocks.Sum(HeightOf) + 16;
        var image = new Gray8Image(Width, height, Enumerable.Repeat(Paper, Width * height).ToArray());
        var top = 16;
        foreach (var block in slip.Blocks)
        {
            Draw(image, block, top);
            top += HeightOf(block);
        }

        return image;
    }

    private static int HeightOf(SlipBlock block) => block switch
    {
        SlipBlock.Text { Size: SlipTextSize.Normal } => LineHeight,
        SlipBlock.Text => 2 * LineHeight,
        SlipBlock.Rule => LineHeight / 2,
        SlipBlock.ScoreBar => EscPos.ScoreBarDots(new SlipBlock.ScoreBar(0, 0)).GetLength(0) + 8,
        SlipBlock.QrCode => QrSide + LineHeight,
        SlipBlock.Picture p => p.Height + 8,
        _ => 0,
    };

    private static void Draw(Gray8Image image, SlipBlock block, int top)
    {
        switch (block)
        {
            case SlipBlock.Text text:
                DrawText(image, text, top);
                break;
            case SlipBlock.Rule:
                BitmapFont.Fill(image, 0, top + (LineHeight / 4), Width, 2, Ink);
                break;
            case SlipBlock.ScoreBar bar:
                var dots = EscPos.ScoreBarDots(bar);
                for (var y = 0; y < dots.GetLength(0); y++)
                {
                    for (var x = 0; x < dots.GetLength(1); x++)
                    {
                        image.Pixels[((top + 4 + y) * Width) + x] = dots[y, x] ? Ink : Paper;
                    }
                }

                break;
            case SlipBlock.Picture picture:
                var pictureDots = EscPos.PictureDots(picture);
                var pictureLeft = (Width - picture.Width) / 2;
                for (var y = 0; y < picture.Height; y++)
                {
                    for (var x = 0; x < picture.Width; x++)
                    {
                        image.Pixels[((top + 4 + y) * Width) + pictureLeft + x] = pictureDots[y, x] ? Ink : Paper;
                    }
                }

                break;
            case SlipBlock.QrCode qr:
                var left = (Width - QrSide) / 2;
                BitmapFont.Fill(image, left, top, QrSide, 3, Ink);
                BitmapFont.Fill(image, left, top + QrSide - 3, QrSide, 3, Ink);
                BitmapFont.Fill(image, left, top, 3, QrSide, Ink);
                BitmapFont.Fill(image, left + QrSide - 3, top, 3, QrSide, Ink);
                BitmapFont.Draw(image, "QR", left + (QrSide / 2) - 11, top + (QrSide / 2) - 7, 2, Ink);
                var label = qr.Data.Length > 30 ? qr.Data[^30..] : qr.Data;
                BitmapFont.Draw(image, label, (Width - (label.Length * BitmapFont.CellWidth * 2)) / 2, top + QrSide + 4, 2, Ink);
                break;
        }
    }

    /// <summary>Normal text fills Font A's 12 x 24 cell at twice the font's size; tall doubles the height, large both.</summary>
    private static void DrawText(Gray8Image image, SlipBlock.Text text, int top)
    {
        var sx = text.Size == SlipTextSize.Large ? 4 : 2;
        var sy = text.Size == SlipTextSize.Normal ? 2 : 4;
        var blockHeight = text.Size == SlipTextSize.Normal ? LineHeight : 2 * LineHeight;
        var textWidth = text.Value.Length * BitmapFont.CellWidth * sx;
        var left = text.Centred ? Math.Max(0, (Width - textWidth) / 2) : 0;
        var (ink, paper) = text.Inverted ? (Paper, Ink) : (Ink, Paper);
        if (text.Inverted)
        {
            BitmapFont.Fill(image, 0, top, Width, blockHeight, paper);
        }

        var glyphTop = top + ((blockHeight - (BitmapFont.GlyphHeight * sy)) / 2);
        foreach (var offset in text.Bold ? [0, 1] : new[] { 0 })
        {
            // Render walks rows in steps of sx; stretch each to sy for tall text.
            BitmapFont.Render(text.Value, left + offset, 0, sx, (x, y, size) => BitmapFont.Fill(image, x, glyphTop + (y / sx * sy), size, sy, ink));
        }
    }
}
