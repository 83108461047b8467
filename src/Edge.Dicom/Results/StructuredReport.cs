using Edge.Domain;

namespace Edge.Dicom.Results;

/// <summary>
/// The Comprehensive SR of one screened image: a measurement report shaped like TID 1500 (title, language, device
/// observer context, procedure reported, image library, one measurement group) without claiming conformance to it,
/// so it carries no Content Template Sequence. Every concept and its code is listed in docs/dicom-conformance.md.
/// </summary>
internal static class StructuredReport
{
    public const string ComprehensiveSrStorage = "1.2.840.10008.5.1.4.1.1.88.33";

    public static DicomDataSet Build(SourceStudy source, ScreeningReport report, DicomResultOptions options, string sopInstanceUid, string seriesUid)
    {
        var time = ObjectTime.From(report.ScreenedAt, options.TimeZone);
        var ds = new DicomDataSet()
            .AddPatientAndStudy(source)
            .AddSeries("SR", seriesUid, ResultText.SeriesDescriptionSr, time)
            .Sequence(DicomTags.ReferencedPerformedProcedureStepSequence)
            .AddEquipment(options)
            .AddSopCommon(ComprehensiveSrStorage, sopInstanceUid, time)
            .Sequence(DicomTags.CodingSchemeIdentificationSequence, ResultCodes.PrivateSchemeIdentification());

        // SR Document General (C.17.2): machine output nobody has signed, so UNVERIFIED; nothing more will be added, so COMPLETE.
        ds.Text(DicomTags.InstanceNumber, "IS", CommonModules.InstanceNumber(source))
            .Text(DicomTags.CompletionFlag, "CS", "COMPLETE")
            .Text(DicomTags.VerificationFlag, "CS", "UNVERIFIED")
            .Text(DicomTags.ContentDate, "DA", time.Date)
            .Text(DicomTags.ContentTime, "TM", time.Time)
            .Sequence(DicomTags.PerformedProcedureCodeSequence)
            .Sequence(DicomTags.CurrentRequestedProcedureEvidenceSequence, Evidence(source));

        // SR Document Content (C.17.3): the root content item lives in the top-level data set.
        ds.Text(DicomTags.ValueType, "CS", "CONTAINER")
            .Sequence(DicomTags.ConceptNameCodeSequence, ResultCodes.ImagingMeasurementReport.ToItem())
            .Text(DicomTags.ContinuityOfContent, "CS", "SEPARATE")
            .Sequence(DicomTags.ContentSequence, RootContent(source, report, options));
        return ds;
    }

    /// <summary>Hierarchical SOP Instance Reference Macro (Table C.17-3) naming the screened image.</summary>
    private static DicomDataSet Evidence(SourceStudy source) => new DicomDataSet()
        .Text(DicomTags.StudyInstanceUid, "UI", source.StudyInstanceUid)
        .Sequence(DicomTags.ReferencedSeriesSequence, new DicomDataSet()
            .Text(DicomTags.SeriesInstanceUid, "UI", source.SeriesInstanceUid)
            .Sequence(DicomTags.ReferencedSopSequence, CommonModules.SourceReference(source)));

    private static IEnumerable<DicomDataSet> RootContent(SourceStudy source, ScreeningReport report, DicomResultOptions options)
    {
        yield return Item.Code("HAS CONCEPT MOD", ResultCodes.LanguageOfContent, ResultCodes.Language(options.Language));

        // Observation context (TID 1001 / 1004): the observer is this appliance, not a person.
        yield return Item.Code("HAS OBS CONTEXT", ResultCodes.ObserverType, ResultCodes.Device);
        yield return Item.UidRef("HAS OBS CONTEXT", ResultCodes.DeviceObserverUid, ResultUids.DeviceObserver(options.DeviceId));
        yield return Item.Text("HAS OBS CONTEXT", ResultCodes.DeviceObserverName, options.DeviceId);
        yield return Item.Text("HAS OBS CONTEXT", ResultCodes.DeviceObserverManufacturer, options.Manufacturer);
        yield return Item.Text("HAS OBS CONTEXT", ResultCodes.DeviceObserverModelName, "TB triage appliance " + options.SoftwareVersion);
        yield return Item.Text("HAS OBS CONTEXT", ResultCodes.DeviceObserverLocation, options.SiteId);

        yield return Item.Code("HAS CONCEPT MOD", ResultCodes.ProcedureReported, ResultCodes.PlainChestXRay);
        yield return Item.Container("CONTAINS", ResultCodes.ImageLibrary, [Item.Image("CONTAINS", null, source)]);
        yield return Item.Container("CONTAINS", ResultCodes.ImagingMeasurements, [Item.Container("CONTAINS", ResultCodes.MeasurementGroup, MeasurementGroup(source, report, options))]);

        yield return Item.Text("CONTAINS", ResultCodes.Summary, ResultText.Summary(options.Language, report));
        yield return Item.Text("CONTAINS", ResultCodes.IntendedUse, ResultText.EnglishIntendedUse);
        if (options.Language != DicomResultOptions.English)
        {
            yield return Item.Text("CONTAINS", ResultCodes.IntendedUse, ResultText.IntendedUse(options.Language));
        }
    }

    private static IEnumerable<DicomDataSet> MeasurementGroup(SourceStudy source, ScreeningReport report, DicomResultOptions options)
    {
        yield return Item.Text("HAS OBS CONTEXT", ResultCodes.TrackingIdentifier, report.ResultId);
        yield return Item.UidRef("HAS OBS CONTEXT", ResultCodes.TrackingUniqueIdentifier, ResultUids.Tracking(report.ResultId, source.SopInstanceUid));

        // Algorithm identification (TID 4019).
        yield return Item.Text("HAS CONCEPT MOD", ResultCodes.AlgorithmName, report.Model.Name);
        yield return Item.Text("HAS CONCEPT MOD", ResultCodes.AlgorithmVersion, report.Model.Version);

        yield return Item.Num("CONTAINS", ResultCodes.TbScore, ResultText.ScoreDecimal(report.Probability), ResultCodes.ScoreUnits);
        yield return Item.Num("CONTAINS", ResultCodes.ReferralThreshold, ResultText.ScoreDecimal(report.Decision.Threshold), ResultCodes.ScoreUnits);
        yield return Item.Text("CONTAINS", ResultCodes.ThresholdSource, ResultText.ThresholdSource(options.Language, report.Decision.Source));
        yield return Item.Code("CONTAINS", ResultCodes.TriageDecision, report.Decision.Referral == Referral.Refer ? ResultCodes.ReferForTbTest : ResultCodes.NoReferral);
        yield return Item.Text("CONTAINS", ResultCodes.ModelSha256, report.Model.Sha256);
        if (!string.IsNullOrWhiteSpace(report.ExecutionProvider))
        {
            yield return Item.Text("CONTAINS", ResultCodes.ExecutionProvider, report.ExecutionProvider);
        }

        yield return Item.Code("CONTAINS", ResultCodes.QualityVerdict, report.Qc.Verdict switch
        {
            QcVerdict.Pass => ResultCodes.QualityPass,
            QcVerdict.Warn => ResultCodes.QualityWarn,
            _ => ResultCodes.QualityReject,
        });
        foreach (var finding in report.Qc.Findings)
        {
            yield return Item.Text("CONTAINS", ResultCodes.QualityFinding, $"{finding.Code} ({finding.Severity.ToString().ToLowerInvariant()}): {finding.Message}");
        }

        yield return Item.Image("CONTAINS", ResultCodes.SourceOfMeasurement, source);
    }

    /// <summary>Content items (Document Content Macro, Table C.17-5, and Content Item Macro, Table 10-2).</summary>
    private static class Item
    {
        public static DicomDataSet Text(string relationship, CodedConcept concept, string value) =>
            Start(relationship, "TEXT", concept).Text(DicomTags.TextValue, "UT", value);

        public static DicomDataSet Code(string relationship, CodedConcept concept, CodedConcept value) =>
            Start(relationship, "CODE", concept).Sequence(DicomTags.ConceptCodeSequence, value.ToItem());

        public static DicomDataSet UidRef(string relationship, CodedConcept concept, string uid) =>
            Start(relationship, "UIDREF", concept).Text(DicomTags.Uid, "UI", uid);

        public static DicomDataSet Num(string relationship, CodedConcept concept, string value, CodedConcept units) =>
            Start(relationship, "NUM", concept).Sequence(DicomTags.MeasuredValueSequence, new DicomDataSet()
                .Sequence(DicomTags.MeasurementUnitsCodeSequence, units.ToItem())
                .Text(DicomTags.NumericValue, "DS", value));

        public static DicomDataSet Image(string relationship, CodedConcept? concept, SourceStudy source) =>
            Start(relationship, "IMAGE", concept).Sequence(DicomTags.ReferencedSopSequence, CommonModules.SourceReference(source));

        public static DicomDataSet Container(string relationship, CodedConcept concept, IEnumerable<DicomDataSet> children) =>
            Start(relationship, "CONTAINER", concept)
                .Text(DicomTags.ContinuityOfContent, "CS", "SEPARATE")
                .Sequence(DicomTags.ContentSequence, children);

        private static DicomDataSet Start(string relationship, string valueType, CodedConcept? concept)
        {
            var item = new DicomDataSet()
                .Text(DicomTags.RelationshipType, "CS", relationship)
                .Text(DicomTags.ValueType, "CS", valueType);
            if (concept is not null)
            {
                item.Sequence(DicomTags.ConceptNameCodeSequence, concept.ToItem());
            }

            return item;
        }
    }
}
