-- Workflows: platform administrator role, employer registration, destination types as data, uploads.
-- depends: 0002.records

ALTER TABLE users MODIFY role ENUM('ministry','province','school','department','employer','graduate','admin') NOT NULL;

ALTER TABLE employers
  ADD COLUMN contact_name VARCHAR(50) NULL,
  ADD COLUMN contact_phone_cipher VARBINARY(255) NULL,
  ADD COLUMN contact_phone_masked VARCHAR(11) NULL,
  ADD COLUMN address VARCHAR(200) NULL,
  ADD COLUMN certification_method ENUM('licence','bank_transfer') NULL COMMENT '加盖公章的营业执照 / 对公账号打款确认',
  ADD COLUMN licence_upload_id BIGINT NULL,
  ADD COLUMN authorisation_upload_id BIGINT NULL COMMENT '加盖公章和个人身份证的网签授权书',
  ADD COLUMN certification_note VARCHAR(500) NULL,
  ADD COLUMN certified_by INT NULL,
  ADD COLUMN certified_at DATETIME NULL;

CREATE TABLE destination_types (
  code VARCHAR(8) PRIMARY KEY COMMENT 'EMS destination code, or our own code where the seeds give none',
  name VARCHAR(60) NOT NULL,
  category VARCHAR(30) NOT NULL,
  supplementary_only TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'the one type training modes 21/41 may file',
  fields JSON NOT NULL COMMENT 'required fields: [{"name": ..., "label": ...}]',
  proofs VARCHAR(500) NOT NULL COMMENT 'what proof materials are required (from the seeds)',
  proof_required TINYINT(1) NOT NULL DEFAULT 1,
  sort_order INT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO destination_types (code, name, category, supplementary_only, fields, proofs, proof_required, sort_order) VALUES
('10', '签就业协议形式就业（公招接收函、士官、医学规培、国际组织任职、出国出境工作）', '就业', 0,
 '[{"name":"unit_name","label":"单位名称"},{"name":"form","label":"具体形式"},{"name":"location","label":"单位所在地"}]',
 '公招接收函、士官入伍通知、医学规培录取证明、国际组织录用证明或境外单位接收证明', 1, 10),
('11', '签劳动合同形式就业', '就业', 0,
 '[{"name":"unit_name","label":"单位名称"},{"name":"credit_code","label":"统一社会信用代码"},{"name":"location","label":"单位所在地"},{"name":"job_category","label":"职位类别"}]',
 '《劳动合同和单位用工证明登记表》和劳动合同或用人单位提供的录用文件', 1, 20),
('12', '其他录用形式就业', '就业', 0,
 '[{"name":"unit_name","label":"单位名称"},{"name":"location","label":"单位所在地"},{"name":"job_category","label":"职位类别"}]',
 '《劳动合同和单位用工证明登记表》和用工证明，或截至当前的本人工资收入证明、收入流水等其他证明材料', 1, 30),
('13', '科研助理、管理助理（含博士后入站）', '就业', 0,
 '[{"name":"unit_name","label":"聘用单位"},{"name":"project","label":"科研项目或岗位"}]',
 '聘用单位出具的聘用证明或博士后进站通知', 1, 40),
('46', '应征义务兵', '就业', 0,
 '[{"name":"unit_name","label":"入伍地人民武装部"}]', '预定兵通知书或入伍通知书', 1, 50),
('50', '国家基层项目（特岗教师、三支一扶、西部计划）', '就业', 0,
 '[{"name":"project","label":"项目名称"},{"name":"location","label":"服务地"}]', '项目录取或派遣证明', 1, 60),
('51', '地方基层项目（特岗教师、选调生、农技特岗、乡村医生、乡村教师）', '就业', 0,
 '[{"name":"project","label":"项目名称"},{"name":"location","label":"服务地"}]', '项目录取或派遣证明', 1, 70),
('75', '自主创业', '就业', 0,
 '[{"name":"unit_name","label":"创业实体或项目名称"},{"name":"form","label":"创业形式（实体/工作室/网络）"}]',
 '本人签字的《自由职业和自主创业登记表》及营业执照、合伙协议、场地、运营情况等证明材料', 1, 80),
('76', '自由职业', '就业', 0,
 '[{"name":"occupation","label":"从事职业"}]',
 '《自由职业和自主创业登记表》及代理协议书、博主签约材料、电子竞技签约账号材料等', 1, 90),
('80', '升学（专升本、考研、第二学士学位）', '升学', 0,
 '[{"name":"school_name","label":"录取学校"},{"name":"major","label":"录取专业"}]', '录取名单或录取通知书照片', 1, 100),
('85', '出国、出境深造', '升学', 0,
 '[{"name":"school_name","label":"留学学校"},{"name":"country","label":"国家或地区"}]',
 '《毕业生出国登记表》和国外学校录取通知书', 1, 110),
('90', '定向/委培毕业去向补充登记', '定向委培', 1,
 '[{"name":"unit_name","label":"定向或委培单位"},{"name":"location","label":"单位所在地"}]', '定向或委培协议', 1, 120),
('70', '待就业', '未就业', 0, '[]', '无需证明材料', 0, 130),
('71', '不就业拟升学', '未就业', 0, '[{"name":"plan","label":"拟报考学校或层次"}]', '无需证明材料', 0, 140),
('72', '其他暂不就业', '未就业', 0, '[{"name":"reason","label":"暂不就业原因"}]', '无需证明材料', 0, 150);

-- Every accepted upload (after the image checks); the file lives in the file store under `storage_name`.
CREATE TABLE uploads (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  kind ENUM('stamped-agreement','paper-agreement','cancellation-letter','destination-proof','employer-licence',
            'employer-authorisation') NOT NULL,
  storage_name VARCHAR(80) NOT NULL,
  sha256 CHAR(64) NOT NULL,
  width INT NOT NULL,
  height INT NOT NULL,
  bytes INT NOT NULL,
  uploaded_by INT NULL COMMENT 'NULL for an employer through an SMS link',
  graduate_id INT NULL,
  employer_id INT NULL,
  record_id BIGINT NULL COMMENT 'set when an action attaches it to a record',
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY ix_upload_graduate (graduate_id),
  KEY ix_upload_record (record_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE records ADD COLUMN audit_stage ENUM('department','school') NULL AFTER state,
  ADD COLUMN audit_touched TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'an auditor acted since the last submission (no withdrawal then)' AFTER audit_stage,
  ADD KEY ix_record_school_state (school_id, state, id);
