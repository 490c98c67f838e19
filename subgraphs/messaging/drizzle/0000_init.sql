CREATE SCHEMA "messaging";
--> statement-breakpoint
CREATE TABLE "messaging"."blocks" (
	"blocker_id" bigint NOT NULL,
	"blocked_id" bigint NOT NULL,
	CONSTRAINT "blocks_blocker_id_blocked_id_pk" PRIMARY KEY("blocker_id","blocked_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."conversations" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "messaging"."conversations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_low_id" bigint NOT NULL,
	"user_high_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "conversations_pair_unique" UNIQUE("user_low_id","user_high_id"),
	CONSTRAINT "conversations_pair_ordered" CHECK ("messaging"."conversations"."user_low_id" < "messaging"."conversations"."user_high_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."follows" (
	"follower_id" bigint NOT NULL,
	"followee_id" bigint NOT NULL,
	CONSTRAINT "follows_follower_id_followee_id_pk" PRIMARY KEY("follower_id","followee_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."known_users" (
	"user_id" bigint PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messaging"."mailboxes" (
	"user_id" bigint PRIMARY KEY NOT NULL,
	"last_message_id" bigint
);
--> statement-breakpoint
CREATE TABLE "messaging"."messages" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "messaging"."messages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"conversation_id" bigint NOT NULL,
	"sender_id" bigint NOT NULL,
	"text" text NOT NULL,
	"source" text NOT NULL,
	"idempotency_key" text,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"unsent" boolean DEFAULT false NOT NULL,
	"unsent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "messaging"."participants" (
	"conversation_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"folder" text NOT NULL,
	"declined" boolean DEFAULT false NOT NULL,
	"last_seen_message_id" bigint,
	"last_message_id" bigint,
	CONSTRAINT "participants_conversation_id_user_id_pk" PRIMARY KEY("conversation_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."reactions" (
	"message_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"emoji" text NOT NULL,
	"reacted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reactions_message_id_user_id_pk" PRIMARY KEY("message_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "messaging"."stream_positions" (
	"stream" text PRIMARY KEY NOT NULL,
	"position" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "messaging"."messages" ADD CONSTRAINT "messages_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "messaging"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messaging"."participants" ADD CONSTRAINT "participants_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "messaging"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messaging"."reactions" ADD CONSTRAINT "reactions_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "messaging"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blocks_blocked_idx" ON "messaging"."blocks" USING btree ("blocked_id");--> statement-breakpoint
CREATE INDEX "conversations_user_high_idx" ON "messaging"."conversations" USING btree ("user_high_id");--> statement-breakpoint
CREATE INDEX "messages_conversation_idx" ON "messaging"."messages" USING btree ("conversation_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_sender_idempotency_key_idx" ON "messaging"."messages" USING btree ("sender_id","idempotency_key") WHERE "messaging"."messages"."idempotency_key" is not null;--> statement-breakpoint
CREATE INDEX "participants_inbox_idx" ON "messaging"."participants" USING btree ("user_id","folder","last_message_id") WHERE not "messaging"."participants"."declined";