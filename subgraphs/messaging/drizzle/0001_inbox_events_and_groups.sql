CREATE TABLE "messaging"."inbox_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "messaging"."inbox_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" bigint NOT NULL,
	"conversation_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"actor_id" bigint NOT NULL,
	"message_id" bigint,
	"emoji" text,
	"filing" text,
	"folder" text,
	"title" text,
	"member_ids" bigint[],
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "messaging"."conversations" DROP CONSTRAINT "conversations_pair_ordered";--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ALTER COLUMN "user_low_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ALTER COLUMN "user_high_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD COLUMN "kind" text DEFAULT 'DIRECT' NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD COLUMN "title" text;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD COLUMN "admin_id" bigint;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD COLUMN "creator_id" bigint;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "messaging"."mailboxes" ADD COLUMN "last_event_id" bigint;--> statement-breakpoint
ALTER TABLE "messaging"."participants" ADD COLUMN "joined_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "messaging"."participants" ADD COLUMN "visible_after_message_id" bigint;--> statement-breakpoint
ALTER TABLE "messaging"."participants" ADD COLUMN "left_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messaging"."participants" ADD COLUMN "visible_until_message_id" bigint;--> statement-breakpoint
ALTER TABLE "messaging"."inbox_events" ADD CONSTRAINT "inbox_events_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "messaging"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messaging"."inbox_events" ADD CONSTRAINT "inbox_events_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "messaging"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbox_events_user_idx" ON "messaging"."inbox_events" USING btree ("user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "conversations_creator_idempotency_key_idx" ON "messaging"."conversations" USING btree ("creator_id","idempotency_key") WHERE "messaging"."conversations"."idempotency_key" is not null;--> statement-breakpoint
ALTER TABLE "messaging"."conversations" ADD CONSTRAINT "conversations_kind_shape" CHECK (("messaging"."conversations"."kind" = 'DIRECT' and "messaging"."conversations"."user_low_id" < "messaging"."conversations"."user_high_id" and "messaging"."conversations"."admin_id" is null)
        or ("messaging"."conversations"."kind" = 'GROUP' and "messaging"."conversations"."user_low_id" is null and "messaging"."conversations"."user_high_id" is null and "messaging"."conversations"."admin_id" is not null));