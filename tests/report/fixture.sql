-- fixture.sql - a small results database with known aggregates for camlab report's golden tests
-- (tests/t50-report.t). The schema is store/store.h's, version 1. It holds: RandomCAM best on every
-- column of resnet50's ReST table (so the ranking must leave it out), a tie on the printed value (AD
-- 16.91 from 0.1691 and 0.16914; Coh 95.63 from 0.95634 and 0.95626), a column where every method ties
-- (IC), a method outside the paper's list with uncomputed metrics, three utilities of GradCAM and two
-- of ShapleyCAM (the ablation), a partial and a failed run, an older run superseded by a newer one of
-- the same cell, and per-image values, inputs and heatmaps for box plots and figures.
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE specs(id INTEGER PRIMARY KEY, path TEXT, text TEXT, canonical TEXT, camlab_version TEXT, created TEXT);
CREATE TABLE runs(key TEXT PRIMARY KEY, spec_id INTEGER, model TEXT, layer TEXT, layer_path TEXT, method TEXT, utility TEXT, target TEXT, config TEXT, nr_images INTEGER, state TEXT, error TEXT, created TEXT, finished TEXT);
CREATE TABLE images(run_key TEXT, idx INTEGER, path TEXT, label INTEGER, class INTEGER, ad REAL, coh REAL, com REAL, ic REAL, add_ REAL, y REAL, o REAL, d REAL, PRIMARY KEY (run_key, idx));
CREATE TABLE aggregates(run_key TEXT PRIMARY KEY, n INTEGER, ad REAL, coh REAL, com REAL, adcc REAL, ic REAL, add_ REAL);
CREATE TABLE heatmaps(run_key TEXT, idx INTEGER, h INTEGER, w INTEGER, data BLOB, PRIMARY KEY (run_key, idx));
CREATE TABLE inputs(model TEXT, idx INTEGER, path TEXT, h INTEGER, w INTEGER, rgb BLOB, PRIMARY KEY (model, idx));
CREATE TABLE outputs(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE figures(idx INTEGER, by TEXT, PRIMARY KEY (idx, by));
INSERT INTO meta VALUES ('schema_version', '1'), ('created_by', 'camlab 0.1.0');
INSERT INTO specs VALUES (1, 'fixture.yaml', 'name: fixture', 'name=fixture', '0.1.0', '2025-01-01T00:00:00Z');
INSERT INTO outputs VALUES ('name', 'fixture'), ('tables', '1'), ('plots', '1'), ('formats', 'markdown,latex,csv'),
  ('paper', 'table1/resnet50/layer4.2.conv3');
INSERT INTO figures VALUES (0, 'method'), (0, 'utility');
INSERT INTO runs VALUES ('00000000000000ff', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'gradcam', 'rest', 'predicted', 'method=gradcam', 100, 'done', NULL, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
INSERT INTO aggregates VALUES ('00000000000000ff', 100, 0.9999, 0.1, 0.9, 0.1, 0.0, 0.01);
INSERT INTO images VALUES ('00000000000000ff', 0, 'img0.png', 0, 0, 0.8999, NULL, NULL, 0, 0.0900, 0.9, 0.5, 0.4),
  ('00000000000000ff', 1, 'img1.png', 1, 1, 0.9499, NULL, NULL, 1, 0.0500, 0.9, 0.5, 0.4),
  ('00000000000000ff', 2, 'img2.png', 2, 2, 0.9999, NULL, NULL, 0, 0.0100, 0.9, 0.5, 0.4),
  ('00000000000000ff', 3, 'img3.png', 0, 0, 1.0000, NULL, NULL, 1, 0.0000, 0.9, 0.5, 0.4),
  ('00000000000000ff', 4, 'img4.png', 1, 1, 1.0000, NULL, NULL, 0, 0.0000, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000001', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'randomcam', 'rest', 'predicted', 'method=randomcam', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000001', 100, 0.05, 0.99, 0.1, 0.9, 0.9, 0.9);
INSERT INTO images VALUES ('0000000000000001', 0, 'img0.png', 0, 0, 0.0000, NULL, NULL, 0, 0.9800, 0.9, 0.5, 0.4),
  ('0000000000000001', 1, 'img1.png', 1, 1, 0.0000, NULL, NULL, 1, 0.9400, 0.9, 0.5, 0.4),
  ('0000000000000001', 2, 'img2.png', 2, 2, 0.0500, NULL, NULL, 0, 0.9000, 0.9, 0.5, 0.4),
  ('0000000000000001', 3, 'img3.png', 0, 0, 0.1000, NULL, NULL, 1, 0.8600, 0.9, 0.5, 0.4),
  ('0000000000000001', 4, 'img4.png', 1, 1, 0.1500, NULL, NULL, 0, 0.8200, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000002', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'gradcam++', 'rest', 'predicted', 'method=gradcam++', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000002', 100, 0.2152, 0.9607, 0.3376, 0.7843, 0.3, 0.358);
INSERT INTO images VALUES ('0000000000000002', 0, 'img0.png', 0, 0, 0.1152, NULL, NULL, 0, 0.4380, 0.9, 0.5, 0.4),
  ('0000000000000002', 1, 'img1.png', 1, 1, 0.1652, NULL, NULL, 1, 0.3980, 0.9, 0.5, 0.4),
  ('0000000000000002', 2, 'img2.png', 2, 2, 0.2152, NULL, NULL, 0, 0.3580, 0.9, 0.5, 0.4),
  ('0000000000000002', 3, 'img3.png', 0, 0, 0.2652, NULL, NULL, 1, 0.3180, 0.9, 0.5, 0.4),
  ('0000000000000002', 4, 'img4.png', 1, 1, 0.3152, NULL, NULL, 0, 0.2780, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000003', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'gradcam', 'rest', 'predicted', 'method=gradcam', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000003', 100, 0.1691, 0.95634, 0.3636, 0.7853, 0.3, 0.3837);
INSERT INTO images VALUES ('0000000000000003', 0, 'img0.png', 0, 0, 0.0691, NULL, NULL, 0, 0.4637, 0.9, 0.5, 0.4),
  ('0000000000000003', 1, 'img1.png', 1, 1, 0.1191, NULL, NULL, 1, 0.4237, 0.9, 0.5, 0.4),
  ('0000000000000003', 2, 'img2.png', 2, 2, 0.1691, NULL, NULL, 0, 0.3837, 0.9, 0.5, 0.4),
  ('0000000000000003', 3, 'img3.png', 0, 0, 0.2191, NULL, NULL, 1, 0.3437, 0.9, 0.5, 0.4),
  ('0000000000000003', 4, 'img4.png', 1, 1, 0.2691, NULL, NULL, 0, 0.3037, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000004', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'shapleycam', 'rest', 'predicted', 'method=shapleycam', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000004', 100, 0.16914, 0.95626, 0.3626, 0.7859, 0.3, 0.3838);
INSERT INTO images VALUES ('0000000000000004', 0, 'img0.png', 0, 0, 0.0691, NULL, NULL, 0, 0.4638, 0.9, 0.5, 0.4),
  ('0000000000000004', 1, 'img1.png', 1, 1, 0.1191, NULL, NULL, 1, 0.4238, 0.9, 0.5, 0.4),
  ('0000000000000004', 2, 'img2.png', 2, 2, 0.1691, NULL, NULL, 0, 0.3838, 0.9, 0.5, 0.4),
  ('0000000000000004', 3, 'img3.png', 0, 0, 0.2191, NULL, NULL, 1, 0.3438, 0.9, 0.5, 0.4),
  ('0000000000000004', 4, 'img4.png', 1, 1, 0.2691, NULL, NULL, 0, 0.3038, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000005', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'hirescam', 'rest', 'predicted', 'method=hirescam', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000005', 100, 0.18, 0.9549, 0.3521, 0.7874, 0.3, 0.3735);
INSERT INTO images VALUES ('0000000000000005', 0, 'img0.png', 0, 0, 0.0800, NULL, NULL, 0, 0.4535, 0.9, 0.5, 0.4),
  ('0000000000000005', 1, 'img1.png', 1, 1, 0.1300, NULL, NULL, 1, 0.4135, 0.9, 0.5, 0.4),
  ('0000000000000005', 2, 'img2.png', 2, 2, 0.1800, NULL, NULL, 0, 0.3735, 0.9, 0.5, 0.4),
  ('0000000000000005', 3, 'img3.png', 0, 0, 0.2300, NULL, NULL, 1, 0.3335, 0.9, 0.5, 0.4),
  ('0000000000000005', 4, 'img4.png', 1, 1, 0.2800, NULL, NULL, 0, 0.2935, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000006', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'myowncam', 'rest', 'predicted', 'method=myowncam', 100, 'done', NULL, '2025-01-01T00:00:01Z', '2025-01-01T00:00:01Z');
INSERT INTO aggregates VALUES ('0000000000000006', 100, NULL, 0.5, 0.5, NULL, 0.3, NULL);
INSERT INTO runs VALUES ('0000000000000007', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'gradcam', 'logit', 'predicted', 'method=gradcam', 100, 'done', NULL, '2025-01-01T00:00:02Z', '2025-01-01T00:00:02Z');
INSERT INTO aggregates VALUES ('0000000000000007', 100, 0.15, 0.95, 0.37, 0.79, 0.35, 0.4);
INSERT INTO images VALUES ('0000000000000007', 0, 'img0.png', 0, 0, 0.0500, NULL, NULL, 0, 0.4800, 0.9, 0.5, 0.4),
  ('0000000000000007', 1, 'img1.png', 1, 1, 0.1000, NULL, NULL, 1, 0.4400, 0.9, 0.5, 0.4),
  ('0000000000000007', 2, 'img2.png', 2, 2, 0.1500, NULL, NULL, 0, 0.4000, 0.9, 0.5, 0.4),
  ('0000000000000007', 3, 'img3.png', 0, 0, 0.2000, NULL, NULL, 1, 0.3600, 0.9, 0.5, 0.4),
  ('0000000000000007', 4, 'img4.png', 1, 1, 0.2500, NULL, NULL, 0, 0.3200, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000008', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'shapleycam', 'logit', 'predicted', 'method=shapleycam', 100, 'done', NULL, '2025-01-01T00:00:02Z', '2025-01-01T00:00:02Z');
INSERT INTO aggregates VALUES ('0000000000000008', 100, 0.15, 0.95, 0.37, 0.79, 0.35, 0.4);
INSERT INTO images VALUES ('0000000000000008', 0, 'img0.png', 0, 0, 0.0500, NULL, NULL, 0, 0.4800, 0.9, 0.5, 0.4),
  ('0000000000000008', 1, 'img1.png', 1, 1, 0.1000, NULL, NULL, 1, 0.4400, 0.9, 0.5, 0.4),
  ('0000000000000008', 2, 'img2.png', 2, 2, 0.1500, NULL, NULL, 0, 0.4000, 0.9, 0.5, 0.4),
  ('0000000000000008', 3, 'img3.png', 0, 0, 0.2000, NULL, NULL, 1, 0.3600, 0.9, 0.5, 0.4),
  ('0000000000000008', 4, 'img4.png', 1, 1, 0.2500, NULL, NULL, 0, 0.3200, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('0000000000000009', 1, 'resnet50', 'last_conv', 'layer4.2.conv3', 'gradcam', 'softmax', 'predicted', 'method=gradcam', 100, 'done', NULL, '2025-01-01T00:00:02Z', '2025-01-01T00:00:02Z');
INSERT INTO aggregates VALUES ('0000000000000009', 100, 0.25, 0.9, 0.3, 0.78, 0.25, 0.35);
INSERT INTO images VALUES ('0000000000000009', 0, 'img0.png', 0, 0, 0.1500, NULL, NULL, 0, 0.4300, 0.9, 0.5, 0.4),
  ('0000000000000009', 1, 'img1.png', 1, 1, 0.2000, NULL, NULL, 1, 0.3900, 0.9, 0.5, 0.4),
  ('0000000000000009', 2, 'img2.png', 2, 2, 0.2500, NULL, NULL, 0, 0.3500, 0.9, 0.5, 0.4),
  ('0000000000000009', 3, 'img3.png', 0, 0, 0.3000, NULL, NULL, 1, 0.3100, 0.9, 0.5, 0.4),
  ('0000000000000009', 4, 'img4.png', 1, 1, 0.3500, NULL, NULL, 0, 0.2700, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('000000000000000a', 1, 'fashion_cnn', 'pre_gap', 'features.block5', 'randomcam', 'rest', 'predicted', 'method=randomcam', 50, 'done', NULL, '2025-01-01T00:00:03Z', '2025-01-01T00:00:03Z');
INSERT INTO aggregates VALUES ('000000000000000a', 50, 0.8855, 0.5322, 0.2053, 0.2527, 0.05, 0.3011);
INSERT INTO images VALUES ('000000000000000a', 0, 'img0.png', 0, 0, 0.7855, NULL, NULL, 0, 0.3811, 0.9, 0.5, 0.4),
  ('000000000000000a', 1, 'img1.png', 1, 1, 0.8355, NULL, NULL, 1, 0.3411, 0.9, 0.5, 0.4),
  ('000000000000000a', 2, 'img2.png', 2, 2, 0.8855, NULL, NULL, 0, 0.3011, 0.9, 0.5, 0.4),
  ('000000000000000a', 3, 'img3.png', 0, 0, 0.9355, NULL, NULL, 1, 0.2611, 0.9, 0.5, 0.4),
  ('000000000000000a', 4, 'img4.png', 1, 1, 0.9855, NULL, NULL, 0, 0.2211, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('000000000000000b', 1, 'fashion_cnn', 'pre_gap', 'features.block5', 'gradcam', 'rest', 'predicted', 'method=gradcam', 50, 'done', NULL, '2025-01-01T00:00:03Z', '2025-01-01T00:00:03Z');
INSERT INTO aggregates VALUES ('000000000000000b', 50, 0.7962, 0.7527, 0.4056, 0.3789, 0.052, 0.7864);
INSERT INTO images VALUES ('000000000000000b', 0, 'img0.png', 0, 0, 0.6962, NULL, NULL, 0, 0.8664, 0.9, 0.5, 0.4),
  ('000000000000000b', 1, 'img1.png', 1, 1, 0.7462, NULL, NULL, 1, 0.8264, 0.9, 0.5, 0.4),
  ('000000000000000b', 2, 'img2.png', 2, 2, 0.7962, NULL, NULL, 0, 0.7864, 0.9, 0.5, 0.4),
  ('000000000000000b', 3, 'img3.png', 0, 0, 0.8462, NULL, NULL, 1, 0.7464, 0.9, 0.5, 0.4),
  ('000000000000000b', 4, 'img4.png', 1, 1, 0.8962, NULL, NULL, 0, 0.7064, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('000000000000000c', 1, 'fashion_cnn', 'pre_gap', 'features.block5', 'shapleycam', 'rest', 'predicted', 'method=shapleycam', 50, 'partial', NULL, '2025-01-01T00:00:03Z', '2025-01-01T00:00:03Z');
INSERT INTO aggregates VALUES ('000000000000000c', 20, 0.7988, 0.7529, 0.4043, 0.3761, 0.052, 0.7856);
INSERT INTO images VALUES ('000000000000000c', 0, 'img0.png', 0, 0, 0.6988, NULL, NULL, 0, 0.8656, 0.9, 0.5, 0.4),
  ('000000000000000c', 1, 'img1.png', 1, 1, 0.7488, NULL, NULL, 1, 0.8256, 0.9, 0.5, 0.4),
  ('000000000000000c', 2, 'img2.png', 2, 2, 0.7988, NULL, NULL, 0, 0.7856, 0.9, 0.5, 0.4),
  ('000000000000000c', 3, 'img3.png', 0, 0, 0.8488, NULL, NULL, 1, 0.7456, 0.9, 0.5, 0.4),
  ('000000000000000c', 4, 'img4.png', 1, 1, 0.8988, NULL, NULL, 0, 0.7056, 0.9, 0.5, 0.4);
INSERT INTO runs VALUES ('000000000000000d', 1, 'fashion_cnn', 'pre_gap', 'features.block5', 'hirescam', 'rest', 'predicted', 'method=hirescam', 50, 'failed', 'out of memory', '2025-01-01T00:00:03Z', '2025-01-01T00:00:03Z');
INSERT INTO inputs VALUES ('resnet50', 0, 'img0.png', 4, 4, X'003c78b4f02c68a4e01c5894d00c4884c0fc3874b0ec2864a0dc185490cc084480bcf83470ace824609cd814508cc804');
INSERT INTO heatmaps VALUES ('0000000000000003', 0, 4, 4, X'000000008988883d8988083ecdcc4c3e8988883eabaaaa3ecdcccc3eefeeee3e8988083f9a99193fabaa2a3fbcbb3b3fcdcc4c3fdedd5d3fefee6e3f0000803f');
INSERT INTO heatmaps VALUES ('0000000000000004', 0, 4, 4, X'abaaaa3ecdcccc3eefeeee3e8988083f9a99193fabaa2a3fbcbb3b3fcdcc4c3fdedd5d3fefee6e3f0000803f000000008988883d8988083ecdcc4c3e8988883e');
INSERT INTO heatmaps VALUES ('0000000000000007', 0, 4, 4, X'abaa2a3fbcbb3b3fcdcc4c3fdedd5d3fefee6e3f0000803f000000008988883d8988083ecdcc4c3e8988883eabaaaa3ecdcccc3eefeeee3e8988083f9a99193f');
INSERT INTO heatmaps VALUES ('0000000000000002', 0, 4, 4, X'0000803f000000008988883d8988083ecdcc4c3e8988883eabaaaa3ecdcccc3eefeeee3e8988083f9a99193fabaa2a3fbcbb3b3fcdcc4c3fdedd5d3fefee6e3f');
