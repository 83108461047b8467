using Edge.Domain;

namespace Edge.Dicom;

/// <summary>
/// Reads the first frame of a DICOM image with GDCM (any transfer syntax GDCM can decode, with or
/// without preamble and meta header) into modality units, with the header fields the pipeline needs.
/// </summary>
public static class DicomFileReader
{

    /// <exception cref="ImageReadException">The file is not a DICOM image GDCM can decode. The message holds no patient data.</exception>
    public static DecodedImage Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            FileMetaGuard.Check(path);
            GdcmNativeLibrary.Prepare();
            return ReadWithGdcm(path);
        }
        catch (ImageReadException)
        {
            throw;
        }
        catch (Exception ex) when (IsMissingNativeLibrary(ex))
        {
            throw new ImageReadException("DICOM decoding needs GDCM's C# binding: install the Debian package libgdcm-cil.", ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // SWIG surfaces GDCM's C++ exceptions as ApplicationException and friends.
            throw new ImageReadException("DICOM file cannot be read: GDCM failed while decoding it.", ex);
        }
    }

    private static DecodedImage ReadWithGdcm(string path)
    {
        using var reader = new gdcm.ImageReader();
        reader.SetFileName(path);
        var readOk = reader.Read();
        var file = reader.GetFile();
        var dataSet = file.GetDataSet();
        if (!readOk)
        {
            throw new ImageReadException(ExplainReadFailure(dataSet));
        }

        var transferSyntax = file.GetHeader().GetDataSetTransferSyntax();
        var attributes = new DicomAttributes(dataSet);
        var pixels = DicomPixels.FirstFrame(reader.GetImage(), dataSet, transferSyntax);
        var header = DicomHeaderParser.Parse(attributes, pixels.BitsStored, DicomText.Trim(transferSyntax.GetString())) with { VoiLut = ReadVoiLut(dataSet, attributes) };
        return new DecodedImage(pixels.Image, header, DicomHeaderParser.ParseIdentity(attributes));
    }

    /// <summary>
    /// The VOI LUT takes modality values, so its first mapped value is signed when those can be negative: signed pixels,
    /// or a negative rescale intercept (CT's -1024).
    /// </summary>
    private static LookupTable? ReadVoiLut(gdcm.DataSet dataSet, DicomAttributes attributes)
    {
        if (DicomLut.FirstItem(dataSet, 0x3010) is not { } item)
        {
            return null;
        }

        var signed = DicomAttributes.ReadUInt16(dataSet, 0x0028, 0x0103) == 1 || attributes.Decimal(0x0028, 0x1052) < 0;
        return DicomLut.Read(item, signed, "VOI");
    }

    private static string ExplainReadFailure(gdcm.DataSet dataSet)
    {
        if (dataSet.Size() == 0)
        {
            return "Not a DICOM file (or the file is damaged).";
        }

        return dataSet.FindDataElement(new gdcm.Tag(0x7FE0, 0x0010))
            ? "DICOM image attributes are missing or invalid (rows, columns, bits or photometric interpretation)."
            : "DICOM file has no pixel data (not an image).";
    }

    private static bool IsMissingNativeLibrary(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return true;
            }
        }

        return false;
    }
}
