namespace Edge.Storage;

/// <summary>CT series: one result stands for all the images of a series, which its result line lists.</summary>
public sealed partial class ScreeningStore
{
    /// <summary>
    /// Whether a result recorded for a whole series includes this image (the images are archived after the commit, so a
    /// crash can leave some in the spool). Only results recorded since the image arrived can hold it.
    /// </summary>
    public bool IsInRecordedSeries(string imageId, DateTimeOffset receivedAt) => Scalar(
        """
        SELECT COUNT(*) FROM results r, json_each(r.result_json, '$.series.imageIds') j
        WHERE r.screened_at >= $since AND json_type(r.result_json, '$.series') = 'object' AND j.value = $id
        """,
        ("$since", Iso(receivedAt)),
        ("$id", imageId)) > 0;
}
